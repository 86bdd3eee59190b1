// Command kongctl upgrades a fleet of Kong Gateway nodes in place over SSH.
// See README.md; the commands live in controller/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/controller/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
