package cli

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the signal goroutine's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The first SIGINT is soft (the context lives on), the second cancels it
// and says that the node steps keep running and --resume re-attaches.
func TestSignalContextSecondSignalStopsWaiting(t *testing.T) {
	var errb syncBuffer
	ctx, stop := SignalContext(&errb)
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(errb.String(), "letting the running steps finish") })
	if ctx.Err() != nil {
		t.Fatal("the first signal cancelled the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not cancel the context")
	}
	waitFor(t, func() bool { return strings.Contains(errb.String(), "again") })
	msg := errb.String()
	for _, want := range []string{"keep running on the nodes", "kongctl upgrade --resume` re-attaches"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("timed out")
}
