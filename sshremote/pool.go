package sshremote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kongctl/kongctl/internal/fanout"
)

// ConfigFunc returns the Config for a host name.
type ConfigFunc func(ctx context.Context, name string) (*Config, error)

// StaticConfigs is a ConfigFunc over a fixed map.
func StaticConfigs(m map[string]*Config) ConfigFunc {
	return func(_ context.Context, name string) (*Config, error) {
		cfg, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("ssh %s: no config for host", name)
		}
		return cfg, nil
	}
}

// Limits bounds a Pool's concurrency.
type Limits struct {
	// Concurrency is how many hosts one ForEach call works on at once; 0
	// means 10.
	Concurrency int
	// UploadConcurrency is how many uploads run at once across the pool's
	// clients; 0 means 4.
	UploadConcurrency int
}

// HostResult is what ForEach did on one host.
type HostResult struct {
	Host     string
	Err      error
	Duration time.Duration
}

// Pool hands out one Client per host, dialled on first use and reused, and
// runs work across hosts with bounded concurrency. It is safe for
// concurrent use.
type Pool struct {
	configs     ConfigFunc
	concurrency int
	upSem       chan struct{}

	mu      sync.Mutex
	entries map[string]*poolEntry // guarded by mu
	closed  bool                  // guarded by mu
}

type poolEntry struct {
	ready chan struct{} // closed when the dial finished
	c     *Client       // set before ready is closed
	err   error
}

// NewPool returns a Pool that finds hosts' Configs with configs.
func NewPool(configs ConfigFunc, lim Limits) *Pool {
	if lim.Concurrency <= 0 {
		lim.Concurrency = 10
	}
	if lim.UploadConcurrency <= 0 {
		lim.UploadConcurrency = 4
	}
	return &Pool{
		configs:     configs,
		concurrency: lim.Concurrency,
		upSem:       make(chan struct{}, lim.UploadConcurrency),
		entries:     map[string]*poolEntry{},
	}
}

// Get returns the host's Client, dialling it if there is none or the last
// one's connection was lost. Concurrent Gets for one host share one dial.
// A failed dial is not remembered: the next Get tries again.
func (p *Pool) Get(ctx context.Context, name string) (*Client, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("ssh %s: pool closed", name)
		}
		e, ok := p.entries[name]
		if !ok {
			e = &poolEntry{ready: make(chan struct{})}
			p.entries[name] = e
			p.mu.Unlock()
			p.dial(ctx, name, e)
			return e.c, e.err
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: dial: %w", name, ctx.Err())
		}
		if e.err == nil && e.c.Err() == nil {
			return e.c, nil
		}
		// Failed or lost: drop the entry (if still current) and dial anew.
		p.mu.Lock()
		if p.entries[name] == e {
			delete(p.entries, name)
		}
		p.mu.Unlock()
		if e.c != nil {
			e.c.Close()
		}
		if e.err != nil {
			return nil, e.err
		}
	}
}

func (p *Pool) dial(ctx context.Context, name string, e *poolEntry) {
	defer close(e.ready)
	cfg, err := p.configs(ctx, name)
	if err != nil {
		e.err = err
	} else {
		e.c, e.err = Dial(ctx, cfg)
	}
	if e.err != nil {
		p.mu.Lock()
		if p.entries[name] == e {
			delete(p.entries, name)
		}
		p.mu.Unlock()
		return
	}
	e.c.uploadSem = p.upSem
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		e.c.Close()
		e.c, e.err = nil, fmt.Errorf("ssh %s: pool closed", name)
	}
}

// ForEach calls fn for every host with its Client, at most
// Limits.Concurrency at a time, and returns one result per host in the
// order given. One host's failure does not cancel the others; only ctx
// does (hosts not yet started then fail with ctx's error).
func (p *Pool) ForEach(ctx context.Context, hosts []string, fn func(ctx context.Context, c *Client) error) []HostResult {
	results := make([]HostResult, len(hosts))
	rs := make([]*HostResult, len(hosts))
	for i, h := range hosts {
		results[i].Host, rs[i] = h, &results[i]
	}
	errs := fanout.Each(ctx, rs, p.concurrency, func(ctx context.Context, r *HostResult) error {
		start := time.Now()
		defer func() { r.Duration = time.Since(start) }()
		c, err := p.Get(ctx, r.Host)
		if err != nil {
			return err
		}
		return fn(ctx, c)
	})
	for i, err := range errs {
		if errors.Is(err, fanout.ErrNotStarted) {
			err = fmt.Errorf("ssh %s: %w", hosts[i], err)
		}
		results[i].Err = err
	}
	return results
}

// Close closes every Client the pool dialled.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.entries
	p.entries = map[string]*poolEntry{}
	p.mu.Unlock()
	for _, e := range entries {
		<-e.ready
		if e.c != nil {
			e.c.Close()
		}
	}
	return nil
}
