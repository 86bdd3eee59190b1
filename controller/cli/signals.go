package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kongctl/kongctl/controller"
)

// SignalContext is the context main runs the commands in. The first
// SIGINT or SIGTERM is a soft interrupt: an upgrade lets its running steps
// finish (a package install or a migration is never cut half-way), starts
// no new one and pauses, saying how to resume or roll back; a rollback
// under way completes; plan and status stop at once. A second signal
// cancels the context: kongctl stops waiting, but kills nothing on a
// node: package installs and migrations run detached there and finish on
// their own; a resume re-attaches to them. stop releases the signals.
func SignalContext(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	soft := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(stderr, "kongctl: %s: letting the running steps finish, then pausing (again to stop waiting)\n", s)
					close(soft)
					continue
				}
				fmt.Fprintf(stderr, "kongctl: %s again: no longer waiting for running steps; package installs and migrations already started keep running on the nodes (detached), and `kongctl upgrade --resume` re-attaches to them\n", s)
				cancel()
				return
			}
		}
	}()
	return controller.WithInterrupt(ctx, soft), func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
