package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPUAccount charges the CPU time of this process and every process it
// starts from now on (the lab: sshd, Kong simulators, PostgreSQL, and the
// sessions and agents they run) to one cgroup, so that a run can say how
// much CPU the lab itself burned. cgroup v1 (cpuacct) and v2 (cpu.stat)
// are supported.
type CPUAccount struct {
	dir   string
	usage func() (time.Duration, error)
}

// NewCPUAccount creates (or reuses) the cgroup name and moves this process
// into it. Processes started before stay where they are.
func NewCPUAccount(name string) (*CPUAccount, error) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir := filepath.Join("/sys/fs/cgroup", name)
		a := &CPUAccount{dir: dir, usage: func() (time.Duration, error) { return v2Usage(dir) }}
		return a, a.enter()
	}
	dir := filepath.Join("/sys/fs/cgroup/cpuacct", name)
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("cpu accounting: no cgroup v2 and no cpuacct hierarchy: %w", err)
	}
	a := &CPUAccount{dir: dir, usage: func() (time.Duration, error) {
		b, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
		if err != nil {
			return 0, err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(ns), err
	}}
	return a, a.enter()
}

func (a *CPUAccount) enter() error {
	if err := os.MkdirAll(a.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cpu accounting: create cgroup %s: %w", a.dir, err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("cpu accounting: join cgroup %s: %w", a.dir, err)
	}
	return nil
}

// Close moves this process back to the parent cgroup and removes the
// cgroup (it stays while lab processes are still in it).
func (a *CPUAccount) Close() error {
	if err := os.WriteFile(filepath.Join(filepath.Dir(a.dir), "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("cpu accounting: leave cgroup %s: %w", a.dir, err)
	}
	return os.Remove(a.dir)
}

// Usage is the CPU time charged to the cgroup so far.
func (a *CPUAccount) Usage() (time.Duration, error) { return a.usage() }

func v2Usage(dir string) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(us) * time.Microsecond, err
		}
	}
	return 0, fmt.Errorf("no usage_usec in %s/cpu.stat", dir)
}

// SelfCPU is the CPU time of this process so far (user + system).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUSample is the cgroup's CPU time and this process's own at one moment.
type CPUSample struct {
	At    time.Time
	Group time.Duration
	Self  time.Duration
}

// Sampler records a CPUSample every interval until Stop.
type Sampler struct {
	mu      sync.Mutex
	samples []CPUSample
	cancel  context.CancelFunc
	done    chan struct{}
}

// Sample starts a Sampler (one sample at once, then every interval).
func (a *CPUAccount) Sample(ctx context.Context, every time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{})}
	take := func() {
		g, err := a.Usage()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.samples = append(s.samples, CPUSample{At: time.Now(), Group: g, Self: SelfCPU()})
		s.mu.Unlock()
	}
	take()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				take()
				return
			case <-t.C:
				take()
			}
		}
	}()
	return s
}

// Stop takes a last sample and returns them all.
func (s *Sampler) Stop() []CPUSample {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CPUSample(nil), s.samples...)
}

// CPUBetween is the cgroup's CPU time (all of it, and the part this
// process used itself) between the samples nearest to t0 and t1.
func CPUBetween(samples []CPUSample, t0, t1 time.Time) (group, self time.Duration, ok bool) {
	if len(samples) < 2 {
		return 0, 0, false
	}
	near := func(t time.Time) CPUSample {
		best := samples[0]
		for _, s := range samples[1:] {
			if absDur(s.At.Sub(t)) < absDur(best.At.Sub(t)) {
				best = s
			}
		}
		return best
	}
	a, b := near(t0), near(t1)
	return b.Group - a.Group, b.Self - a.Self, true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
