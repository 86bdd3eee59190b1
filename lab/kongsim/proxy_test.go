package kongsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// A client that gives up before the upstream answers is counted as nginx
// logs it, 499, not as an upstream failure (5xx): a gate on the 5xx rate
// must not fail because a prober had a short timeout.
func TestProxyClientGoneIs499(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(release)
	u, _ := url.Parse(upstream.URL)
	port, _ := strconv.Atoi(u.Port())

	d := &daemon{app: &app{rel: MustRelease("3.4.2", "oss")}, counts: map[[3]string]int64{}}
	name := "slow"
	d.setConfig(&KongConfig{
		Services: []Service{{ID: "s1", Name: &name, Protocol: "http", Host: u.Hostname(), Port: port}},
		Routes:   []Route{{ID: "r1", Name: &name, Service: &Ref{ID: "s1"}, Paths: []string{"/slow"}, Protocols: []string{"http"}}},
		Plugins:  []Plugin{},
	})
	proxy := httptest.NewServer(http.HandlerFunc(d.serveProxy))
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", proxy.URL+"/slow", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /slow answered %d before the upstream did", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.cmu.Lock()
		n499, n502 := d.counts[[3]string{"slow", "slow", "499|service"}], d.counts[[3]string{"slow", "slow", "502|service"}]
		d.cmu.Unlock()
		if n502 != 0 {
			t.Fatalf("client timeout counted as 502 (%d)", n502)
		}
		if n499 == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 499 counted after the client gave up: %v", d.counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The router is rebuilt from the database every db_update_frequency
// seconds (Kong's default 5), never more often than every second.
func TestUpdateFrequency(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 5 * time.Second, "5": 5 * time.Second, "2.5": 2500 * time.Millisecond, "0.1": time.Second, "x": 5 * time.Second} {
		d := &daemon{conf: &Config{Values: map[string]string{}}}
		if v != "" {
			d.conf.Values["db_update_frequency"] = v
		}
		if got := d.updateFrequency(); got != want {
			t.Errorf("db_update_frequency %q: every %v, want %v", v, got, want)
		}
	}
}
