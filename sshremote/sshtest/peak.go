package sshtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peakChildEnv names the test a child process re-runs for PeakRSS.
const peakChildEnv = "SSHTEST_PEAK_CHILD"

// PeakRSS measures the memory fn needs: it runs the calling (top-level)
// test again in a child process, where fn runs alone, and returns the
// child's peak resident set (VmHWM, bytes). In the child, PeakRSS runs fn,
// prints the peak and returns child = true: the caller then returns at
// once. The child exits early (and the parent fails) as soon as its RSS
// passes abortAt, so a broken bound cannot exhaust the machine.
func PeakRSS(t *testing.T, abortAt int64, fn func(t *testing.T)) (peak int64, child bool) {
	t.Helper()
	if os.Getenv(peakChildEnv) == t.Name() {
		go func() {
			for {
				if rss, _ := procStatus("VmRSS"); rss > abortAt {
					fmt.Printf("sshtest-peak-abort: rss %d > %d\n", rss, abortAt)
					os.Exit(3)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		fn(t)
		hwm, err := procStatus("VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("sshtest-peak-rss: %d\n", hwm)
		return hwm, true
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), peakChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child run of %s: %v\n%s", t.Name(), err, tail(out, 4096))
	}
	m := regexp.MustCompile(`(?m)^sshtest-peak-rss: (\d+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child run of %s printed no peak:\n%s", t.Name(), tail(out, 4096))
	}
	peak, _ = strconv.ParseInt(string(m[1]), 10, 64)
	return peak, false
}

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

func tail(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b
}

// MemoryBar is the peak RSS a test may allow for a bar of n bytes: n, or
// 4n under the race detector, whose shadow memory inflates every RSS.
func MemoryBar(n int64) int64 {
	if raceEnabled {
		return 4 * n
	}
	return n
}
