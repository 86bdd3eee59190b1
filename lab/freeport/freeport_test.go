package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Ports come from below the ephemeral range, are free (a listener can
// bind them) and are never handed out twice.
func TestPort(t *testing.T) {
	seen := map[int]bool{}
	eph := ephemeralLow()
	for range 200 {
		p, err := Port("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if eph-1-low >= 1000 && (p < low || p >= eph) {
			t.Fatalf("port %d outside %d-%d", p, low, eph-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		l.Close()
	}
}
