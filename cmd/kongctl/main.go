// Command kongctl upgrades a fleet of Kong Gateway nodes in place over SSH.
// See README.md; the commands live in controller/cli.
package main

import (
	"os"

	"github.com/kongctl/kongctl/controller/cli"
)

func main() {
	cli.TuneRuntime(os.LookupEnv)
	// The first SIGINT/SIGTERM pauses after the running steps; a second
	// one stops waiting (cli.SignalContext).
	ctx, stop := cli.SignalContext(os.Stderr)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
