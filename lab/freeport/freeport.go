// Package freeport picks TCP ports for the lab's test servers (PostgreSQL
// clusters, simulated Kong nodes) to listen on.
//
// A port the kernel hands out for ":0" comes from its ephemeral range
// (net.ipv4.ip_local_port_range, 32768-60999 by default), the range every
// outgoing connection takes its local port from. Once the probe's listener
// closes, a client connecting anywhere (the simulator to PostgreSQL, a
// test's HTTP client) may take that very port before the server binds it,
// and the server fails with "Address already in use". Ports below the
// ephemeral range are never taken that way.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

const (
	// low is the bottom of the range picked from.
	low = 10000
	// defaultEphemeralLow is Linux's default bottom of the ephemeral range.
	defaultEphemeralLow = 32768
)

var (
	mu    sync.Mutex
	given = map[string]bool{} // host:port handed out by this process
)

// Port is a TCP port free on host now, below the kernel's ephemeral
// range, and not handed out before by this process.
func Port(host string) (int, error) {
	high := ephemeralLow() - 1
	if high-low < 1000 {
		return kernelPort(host)
	}
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := low + rand.IntN(high-low+1)
		addr := net.JoinHostPort(host, strconv.Itoa(p))
		if given[addr] {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		given[addr] = true
		return p, nil
	}
	return 0, fmt.Errorf("freeport: no free port on %s in %d-%d after 1000 tries", host, low, high)
}

// ephemeralLow is the bottom of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultEphemeralLow
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return defaultEphemeralLow
	}
	return n
}

// kernelPort is the kernel's pick, where the range below the ephemeral
// one is too narrow to pick from.
func kernelPort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("freeport: find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
