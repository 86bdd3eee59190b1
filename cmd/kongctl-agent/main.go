// Command kongctl-agent runs on a Kong node; the kongctl controller pushes
// it over SSH and calls it with `kongctl-agent rpc`. See package agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := agent.Main(ctx, os.Args[1:], agent.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
