package cli

import (
	"bufio"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The first SIGINT is soft (the context lives on), the second cancels it
// and says that the node steps keep running and --resume re-attaches.
func TestSignalContextSecondSignalStopsWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l := <-lines:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no message on stderr")
			return ""
		}
	}
	ctx, stop := SignalContext(pw)
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.Contains(l, "letting the running steps finish") {
		t.Fatalf("first signal: %q", l)
	}
	if ctx.Err() != nil {
		t.Fatal("the first signal cancelled the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l := next()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not cancel the context")
	}
	for _, want := range []string{"again", "keep running on the nodes", "kongctl upgrade --resume` re-attaches"} {
		if !strings.Contains(l, want) {
			t.Errorf("second signal's message %q lacks %q", l, want)
		}
	}
}
