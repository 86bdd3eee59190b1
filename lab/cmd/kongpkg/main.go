// Command kongpkg builds the Kong simulator packages:
//
//	go run ./lab/cmd/kongpkg -out build/packages
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/lab/pkgbuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kongpkg", flag.ContinueOnError)
	out := fs.String("out", "build/packages", "output directory")
	cache := fs.String("cache", "", "binary cache directory (default <out>/../cache/kongsim)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pkgs, err := pkgbuild.Build(ctx, pkgbuild.Options{Out: *out, CacheDir: *cache, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongpkg:", err)
		return 1
	}
	for _, p := range pkgs {
		fmt.Println(p.Path)
	}
	return 0
}
