// Command kongctl-dist builds kongctl's release files (make dist) from
// binaries already built for linux/amd64 and linux/arm64:
//
//	go run ./lab/cmd/kongctl-dist -version v1.2.0 -bin build/dist/bin -out build/dist
//
// -bin holds kongctl-linux-amd64 and kongctl-linux-arm64. File times and
// the man pages' date come from SOURCE_DATE_EPOCH when set.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/controller/cli"
	"github.com/kongctl/kongctl/lab/dist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kongctl-dist", flag.ContinueOnError)
	version := fs.String("version", "", "kongctl's version, as `kongctl version` reports it (required)")
	bin := fs.String("bin", "build/dist/bin", "directory holding kongctl-linux-<arch>")
	out := fs.String("out", "build/dist", "output directory")
	readme := fs.String("readme", "README.md", "README shipped in the packages and tarballs (empty: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: kongctl-dist -version V [-bin DIR] [-out DIR] [-readme FILE]")
		return 2
	}
	var mtime time.Time
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kongctl-dist: SOURCE_DATE_EPOCH %q is not a number of seconds\n", s)
			return 2
		}
		mtime = time.Unix(sec, 0)
	}
	bins := map[string]string{}
	for _, arch := range dist.Arches {
		bins[arch] = filepath.Join(*bin, "kongctl-linux-"+arch)
	}
	paths, err := dist.Build(ctx, dist.Options{
		Version: *version, Binaries: bins, Out: *out, Readme: *readme,
		Root: cli.CommandTree(), About: cli.About, MTime: mtime, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongctl-dist:", err)
		return 1
	}
	for _, p := range paths {
		fmt.Println(p)
	}
	return 0
}
