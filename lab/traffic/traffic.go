// Package traffic is a client that sends HTTP requests throughout an
// upgrade and says what users would have seen: requests sent, failed
// (by kind), and the longest time without a successful answer. The lab's
// end-to-end tests send it through the load balancer (labenv LB); the
// benchmark may too (lab/bench).
package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe the traffic.
type Options struct {
	// URLs are requested in turn by each worker (at least one).
	URLs []string
	// Workers send requests at once, each on its own keep-alive
	// connection (default 4).
	Workers int
	// Pause is each worker's pause between requests (default 10ms).
	Pause time.Duration
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Kinds of failure.
const (
	// Refused: nothing could take the request: a load balancer's 503 (no
	// server up or in the load balancing) or a refused connection. What
	// an in-place upgrade's outage looks like.
	Refused = "refused"
	// Cut: the request was under way and died: a connection reset or
	// closed before the whole answer, or a load balancer's 502/504 (its
	// server cut the request). What a stop without a drain causes.
	Cut = "cut"
	// Status: any other answer than 2xx.
	Status = "status"
	// Timeout: no answer within Options.Timeout.
	Timeout = "timeout"
)

// Result is what the traffic saw.
type Result struct {
	Sent   int `json:"sent"`
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	// ByKind counts the failures by kind (Refused, Cut, Status, Timeout).
	ByKind map[string]int `json:"by_kind,omitempty"`
	// Samples are the first few failures of each kind, as text.
	Samples map[string][]string `json:"samples,omitempty"`
	// LongestGap is the longest time between two successful answers (or
	// from the start, or to the end), and GapStart when it began.
	LongestGap time.Duration `json:"longest_gap"`
	GapStart   time.Time     `json:"gap_start"`
	// FirstFailure and LastFailure are when failures began and ended
	// (zero: none).
	FirstFailure time.Time     `json:"first_failure,omitzero"`
	LastFailure  time.Time     `json:"last_failure,omitzero"`
	Duration     time.Duration `json:"duration"`
}

// String is a one-line summary: "sent 1234, failed 56 (refused 56), longest gap 2.1s".
func (r Result) String() string {
	var kinds []string
	for _, k := range sortedKinds(r.ByKind) {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, r.ByKind[k]))
	}
	s := fmt.Sprintf("sent %d, failed %d", r.Sent, r.Failed)
	if len(kinds) > 0 {
		s += " (" + strings.Join(kinds, ", ") + ")"
	}
	return s + fmt.Sprintf(", longest gap %.2fs over %.1fs", r.LongestGap.Seconds(), r.Duration.Seconds())
}

func sortedKinds(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// maxSamples bounds the samples kept per kind.
const maxSamples = 5

// Client sends the traffic until Stop.
type Client struct {
	o      Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	mu     sync.Mutex
	res    Result
	lastOK time.Time
}

// Start begins sending; Stop ends it and returns what it saw.
func Start(ctx context.Context, o Options) (*Client, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("traffic: no URL")
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Pause <= 0 {
		o.Pause = 10 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	now := time.Now()
	c := &Client{o: o, cancel: cancel, start: now, lastOK: now,
		res: Result{ByKind: map[string]int{}, Samples: map[string][]string{}}}
	for i := range o.Workers {
		c.wg.Add(1)
		go c.worker(ctx, i)
	}
	return c, nil
}

// Stop ends the traffic and returns the result.
func (c *Client) Stop() Result {
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	end := time.Now()
	c.gap(end)
	r := c.res
	r.Duration = end.Sub(c.start)
	return r
}

func (c *Client) worker(ctx context.Context, i int) {
	defer c.wg.Done()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: c.o.Timeout}
	for n := i; ctx.Err() == nil; n++ {
		url := c.o.URLs[n%len(c.o.URLs)]
		kind, what := c.one(ctx, hc, url)
		if ctx.Err() != nil {
			return // the request was cut by Stop, not by the server
		}
		c.record(kind, url, what)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.o.Pause):
		}
	}
}

// one sends one request: its kind of failure ("" for success) and why.
func (c *Client) one(ctx context.Context, hc *http.Client, url string) (string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Status, err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return classify(err), err.Error()
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return classify(err), err.Error()
	case resp.StatusCode == http.StatusServiceUnavailable:
		return Refused, resp.Status
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		return Cut, resp.Status
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Status, resp.Status
	}
	return "", ""
}

// classify names a transport error's kind.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.As(err, &ne) && ne.Timeout():
		return Timeout
	}
	return Cut // reset, EOF, closed mid-answer
}

func (c *Client) record(kind, url, what string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Sent++
	if kind == "" {
		c.res.OK++
		c.gap(now)
		c.lastOK = now
		return
	}
	c.res.Failed++
	c.res.ByKind[kind]++
	if len(c.res.Samples[kind]) < maxSamples {
		c.res.Samples[kind] = append(c.res.Samples[kind], now.Format("15:04:05.000")+" "+url+": "+what)
	}
	if c.res.FirstFailure.IsZero() {
		c.res.FirstFailure = now
	}
	c.res.LastFailure = now
}

// gap counts the time since the last success up to now.
func (c *Client) gap(now time.Time) {
	if d := now.Sub(c.lastOK); d > c.res.LongestGap {
		c.res.LongestGap, c.res.GapStart = d, c.lastOK
	}
}
