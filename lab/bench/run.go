package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Prober sends GETs to every node's proxy at a fixed interval and records
// the answers. Targets are lab addresses only.
type Prober struct {
	Targets  map[string]string // node -> URL (http://<lab address>:8000/bench-probe)
	Interval time.Duration     // between two probes of one node
	Timeout  time.Duration     // per request
	MaxTime  time.Duration     // the prober never runs longer than this

	mu      sync.Mutex
	samples []Sample
}

// Run probes until ctx ends (or MaxTime passes).
func (p *Prober) Run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.MaxTime)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: p.Timeout}
	var wg sync.WaitGroup
	for node, url := range p.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(p.Interval)
			defer t.Stop()
			for {
				ok := probe(ctx, client, url)
				if ctx.Err() != nil {
					return
				}
				p.mu.Lock()
				p.samples = append(p.samples, Sample{Node: node, T: time.Now(), OK: ok})
				p.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

func probe(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode == http.StatusOK
}

// Samples returns what was recorded so far.
func (p *Prober) Samples() []Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sample(nil), p.samples...)
}

// AllServingSince reports whether every target's latest sample after t is
// good.
func (p *Prober) AllServingSince(t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := map[string]bool{}
	for _, s := range p.samples {
		if s.T.After(t) {
			last[s.Node] = s.OK
		}
	}
	for n := range p.Targets {
		if !last[n] {
			return false
		}
	}
	return true
}

// Usage is what the operating system accounted for a child process
// (wait4's rusage).
type Usage struct {
	WallSeconds float64 `json:"wall_s"`
	MaxRSSMB    float64 `json:"peak_rss_mb"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	ExitCode    int     `json:"exit_code"`
}

// KongctlRun is one `kongctl upgrade --output json` run.
type KongctlRun struct {
	Usage   Usage
	Started time.Time
	Ended   time.Time
	Report  json.RawMessage // the payload of the last event (type report)
	// Events are the run's event lines (stdout, --output json) other than
	// the report: its notes and per-host results, kept beside the report
	// to explain a figure (which step took the time, and why).
	Events []byte
	Stderr string
}

// RunKongctl runs bin with args (which must include --output json),
// collects its JSON events from stdout and accounts the process with
// rusage.
func RunKongctl(ctx context.Context, bin string, args []string) (*KongctlRun, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r := &KongctlRun{Started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "report" {
			r.Report = append(json.RawMessage(nil), ev.Payload...)
			continue
		}
		r.Events = append(append(r.Events, sc.Bytes()...), '\n')
	}
	werr := cmd.Wait()
	r.Ended = time.Now()
	r.Stderr = stderr.String()
	r.Usage.WallSeconds = r.Ended.Sub(r.Started).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		r.Usage.ExitCode = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.Usage.MaxRSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
			r.Usage.UserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
			r.Usage.SysSeconds = time.Duration(ru.Stime.Nano()).Seconds()
			r.Usage.CPUSeconds = r.Usage.UserSeconds + r.Usage.SysSeconds
		}
	}
	if werr != nil && r.Usage.ExitCode == 0 {
		return r, fmt.Errorf("run %s: %w", bin, werr)
	}
	return r, nil
}
