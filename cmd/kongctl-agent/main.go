// Command kongctl-agent runs on a Kong node; the kongctl controller pushes
// it over SSH and runs `kongctl-agent serve` once per run (one session
// for all its requests). See package agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := agent.Main(ctx, os.Args[1:], agent.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
