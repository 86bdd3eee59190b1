package sshremote

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/sshremote/sshtest"
)

// TestRunOutputLimit: a command writing past the limit on stdout or on
// stderr is stopped there: the call fails with an *OutputLimitError
// naming the host and the stream, the remote command is gone, only the
// tail of stderr is kept, and the connection still serves.
func TestRunOutputLimit(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	for _, tc := range []struct{ stream, cmd string }{
		{"stdout", "head -c 100000 /dev/zero; sleep 30"},
		{"stderr", "head -c 100000 /dev/zero >&2; sleep 30"},
	} {
		start := time.Now()
		_, err := c.Run(testCtx(t), RunRequest{Cmd: tc.cmd, MaxOutput: 4096})
		var le *OutputLimitError
		if !errors.As(err, &le) || le.Stream != tc.stream || le.Limit != 4096 {
			t.Fatalf("%s: err = %v, want an OutputLimitError on %s", tc.stream, err, tc.stream)
		}
		if msg := err.Error(); !strings.Contains(msg, "kong-1") || !strings.Contains(msg, tc.stream+" larger than 4 KiB") {
			t.Errorf("%s: error %q: want the host and the limit", tc.stream, msg)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: the command ran on after the limit (%s)", tc.stream, took)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for srv.Active() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.Active() != 0 {
		t.Errorf("remote command still running after the limit")
	}
	// Under the limit nothing changes; stderr keeps its last bytes.
	res, err := c.Run(testCtx(t), RunRequest{Cmd: "head -c 100000 /dev/zero | tr '\\0' a >&2; echo last >&2; echo ok", MaxOutput: 1 << 20})
	if err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("Run under the limit: %q %v", res.Stdout, err)
	}
	if len(res.Stderr) != StderrTailBytes || !bytes.HasSuffix(res.Stderr, []byte("aaaalast\n")) {
		t.Errorf("stderr: %d bytes ending %q, want the last %d", len(res.Stderr), res.Stderr[max(0, len(res.Stderr)-16):], StderrTailBytes)
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d, want 1", srv.Connections())
	}
}

// TestRunGigabyteBounded: a host sending 1 GiB on stdout, or on stderr,
// fails the call at the default 16 MiB limit while the controller's
// memory stays bounded (peak RSS of the whole process, server included,
// well under the 200 MB the controller may use).
func TestRunGigabyteBounded(t *testing.T) {
	peak, child := sshtest.PeakRSS(t, 400<<20, func(t *testing.T) {
		srv := sshtest.NewServer(t, nil)
		c := dial(t, baseConfig(t, srv))
		for _, stream := range []string{"stdout", "stderr"} {
			cmd := "head -c 1073741824 /dev/zero"
			if stream == "stderr" {
				cmd += " >&2"
			}
			res, err := c.Run(testCtx(t), RunRequest{Cmd: cmd})
			var le *OutputLimitError
			if !errors.As(err, &le) || le.Stream != stream || le.Limit != MaxOutputBytes {
				t.Fatalf("%s: err = %v, want the 16 MiB limit on %s", stream, err, stream)
			}
			if !strings.Contains(err.Error(), stream+" larger than 16 MiB") {
				t.Errorf("error %q", err)
			}
			if len(res.Stdout) > MaxOutputBytes || len(res.Stderr) > StderrTailBytes {
				t.Errorf("%s: kept %d bytes of stdout, %d of stderr", stream, len(res.Stdout), len(res.Stderr))
			}
		}
	})
	if child {
		return
	}
	t.Logf("peak RSS %d MiB", peak>>20)
	if peak > sshtest.MemoryBar(200<<20) {
		t.Fatalf("peak RSS %d MiB for a 1 GiB reply, want under 200 MiB", peak>>20)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 1<<16 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestRunCallerWriterFailsClosesSession: a caller's writer that fails (a
// full disk while a backup streams to it) ends the command at once
// instead of leaving it blocked on a full window until ctx ends.
func TestRunCallerWriterFailsClosesSession(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	start := time.Now()
	_, err := c.Run(testCtx(t), RunRequest{Cmd: "yes", Stdout: &failingWriter{}})
	if err == nil || !strings.Contains(err.Error(), "kong-1") {
		t.Fatalf("err = %v, want the failed write to end the run", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run went on %s after its writer failed", took)
	}
}
