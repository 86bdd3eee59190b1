package boundedio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLimit(t *testing.T) {
	var buf bytes.Buffer
	calls := 0
	l := &Limit{W: &buf, N: 10, OnExceed: func() { calls++ }}
	if n, err := l.Write([]byte("0123456")); n != 7 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, err := l.Write([]byte("789")); n != 3 || err != nil || l.Exceeded() {
		t.Fatalf("Write up to the limit = %d, %v (exceeded %v)", n, err, l.Exceeded())
	}
	if n, err := l.Write([]byte("x")); n != 0 || !errors.Is(err, ErrExceeded) || !l.Exceeded() {
		t.Fatalf("Write past the limit = %d, %v", n, err)
	}
	if _, err := l.Write([]byte("y")); !errors.Is(err, ErrExceeded) || calls != 1 {
		t.Fatalf("later Write: %v, OnExceed called %d times", err, calls)
	}
	if buf.String() != "0123456789" {
		t.Fatalf("passed on %q", buf.String())
	}
}

func TestTail(t *testing.T) {
	tl := &Tail{N: 5}
	tl.Write([]byte("abc"))
	if string(tl.Bytes()) != "abc" || tl.Clipped() {
		t.Fatalf("tail %q clipped %v", tl.Bytes(), tl.Clipped())
	}
	tl.Write([]byte("def"))
	if string(tl.Bytes()) != "bcdef" || !tl.Clipped() {
		t.Fatalf("tail %q clipped %v", tl.Bytes(), tl.Clipped())
	}
	tl.Write([]byte(strings.Repeat("z", 100) + "12345"))
	if string(tl.Bytes()) != "12345" || tl.Total() != 111 {
		t.Fatalf("tail %q total %d", tl.Bytes(), tl.Total())
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{16 << 20: "16 MiB", 64 << 10: "64 KiB", 100: "100 bytes", 1500: "1500 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
