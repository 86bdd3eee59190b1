// Package boundedio holds the writers the controller collects a remote or
// local command's output into, so that a node or hook sending gigabytes
// costs a bounded amount of memory: Limit fails past a size (and has the
// caller close the stream), Tail keeps only the last bytes.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrExceeded is returned by a Limit's Write once more than its limit was
// written to it.
var ErrExceeded = errors.New("output limit exceeded")

// Limit passes at most N bytes on to W. The write that would pass N
// writes nothing of itself, marks the Limit exceeded, calls OnExceed once
// (e.g. to close the session sending the bytes) and fails with
// ErrExceeded, as do all later writes. Safe for concurrent use when W is.
type Limit struct {
	W        io.Writer
	N        int64
	OnExceed func()

	mu       sync.Mutex
	n        int64
	exceeded bool
}

func (l *Limit) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.exceeded {
		l.mu.Unlock()
		return 0, ErrExceeded
	}
	if l.n+int64(len(p)) > l.N {
		l.exceeded = true
		l.mu.Unlock()
		if l.OnExceed != nil {
			l.OnExceed()
		}
		return 0, ErrExceeded
	}
	defer l.mu.Unlock()
	n, err := l.W.Write(p)
	l.n += int64(n)
	return n, err
}

// Exceeded reports whether more than N bytes were offered.
func (l *Limit) Exceeded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exceeded
}

// Tail keeps the last N bytes written to it and counts them all; writes
// never fail. Safe for concurrent use.
type Tail struct {
	N int

	mu    sync.Mutex
	buf   []byte
	total int64
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= t.N {
		t.buf = append(t.buf[:0], p[len(p)-t.N:]...)
		return len(p), nil
	}
	if drop := len(t.buf) + len(p) - t.N; drop > 0 {
		t.buf = append(t.buf[:0], t.buf[drop:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// Bytes returns a copy of the last N bytes written.
func (t *Tail) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// Total is how many bytes were written in all.
func (t *Tail) Total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// Clipped reports whether bytes were dropped from the front.
func (t *Tail) Clipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total > int64(len(t.buf))
}

// Size formats n bytes for a message: "16 MiB", "64 KiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
