package agent

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"testing"
)

// TestStreamStdout: the command's stdout reaches consume as it comes, its
// stderr is kept, and its exit and consume's error come back apart.
func TestStreamStdout(t *testing.T) {
	a := &Agent{Env: []string{"PATH=/usr/bin:/bin"}}
	var got []byte
	stderr, cerr, werr, err := a.streamStdout(context.Background(), []string{"sh", "-c", "printf archive; echo oops >&2; exit 3"}, func(r io.Reader) error {
		var rerr error
		got, rerr = io.ReadAll(r)
		return rerr
	})
	var ee *exec.ExitError
	if err != nil || cerr != nil || !errors.As(werr, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("err %v, consume %v, wait %v: want only an exit status of 3", err, cerr, werr)
	}
	if string(got) != "archive" || string(stderr) != "oops\n" {
		t.Errorf("stdout %q, stderr %q", got, stderr)
	}
	stop := errors.New("stop")
	_, cerr, _, _ = a.streamStdout(context.Background(), []string{"sh", "-c", "head -c 100000 /dev/zero"}, func(io.Reader) error { return stop })
	if cerr != stop {
		t.Errorf("consume's error %v, want %v (the rest of the output drained, the command waited for)", cerr, stop)
	}
	if _, _, _, err := a.streamStdout(context.Background(), []string{"/nonexistent/rpm2cpio"}, func(io.Reader) error { return nil }); err == nil {
		t.Error("a command that cannot start: no error")
	}
}
