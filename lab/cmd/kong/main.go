// Command kong is the Kong simulator (see lab/kongsim). Packages install it
// as /usr/local/bin/kong and, under the name nginx, as
// /usr/local/openresty/nginx/sbin/nginx. Its version and edition are baked
// in with -ldflags "-X main.version=3.4.2 -X main.edition=oss".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/lab/kongsim"
)

var (
	version string
	edition string
)

func main() {
	// The daemon handles its own signals; the CLI stops on INT/TERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := kongsim.Main(ctx, kongsim.Build{Version: version, Edition: edition}, os.Args, os.Environ(),
		kongsim.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
