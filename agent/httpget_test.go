package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

func httpGetRPC(t *testing.T, a *Agent, p agentproto.HTTPGetParams) (*agentproto.HTTPGetResult, *agentproto.Reply) {
	t.Helper()
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpHTTPGet, p))
	if rep.Error != nil {
		return nil, rep
	}
	res, err := agentproto.DecodeResult[agentproto.HTTPGetResult](rep)
	if err != nil {
		t.Fatal(err)
	}
	return &res, rep
}

// http.get returns the whole body (a /metrics page far past the 4 KiB an
// exec's output tail holds), sends the Host header, follows no redirect,
// accepts a self-signed certificate, and fails a body past MaxHTTPBody
// rather than cutting it.
func TestHTTPGet(t *testing.T) {
	var metrics strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&metrics, "kong_http_requests_total{service=\"s%d\",route=\"r%d\",code=\"200\"} %d\n", i, i, i)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metrics.String()) })
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Host) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/metrics", http.StatusFound) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, agentproto.MaxHTTPBody+1))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	a := testAgent(t)

	res, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/metrics"})
	if res == nil {
		t.Fatalf("GET /metrics: %+v", rep.Error)
	}
	if res.Status != 200 || res.Body != metrics.String() || res.Bytes != int64(metrics.Len()) || metrics.Len() < 64<<10 {
		t.Errorf("GET /metrics: status %d, %d bytes (want %d), body equal %v", res.Status, res.Bytes, metrics.Len(), res.Body == metrics.String())
	}
	if res, _ := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: tlsSrv.URL + "/host", Host: "lab.example.test"}); res == nil || res.Body != "lab.example.test" {
		t.Errorf("GET /host over TLS with a Host header: %+v", res)
	}
	if res, _ := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/moved"}); res == nil || res.Status != http.StatusFound {
		t.Errorf("GET /moved: %+v, want the 302 itself", res)
	}
	if res, _ := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/metrics", Discard: true}); res == nil || res.Body != "" || res.Bytes != int64(metrics.Len()) {
		t.Errorf("GET /metrics discarded: %+v", res)
	}
	if _, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/huge"}); rep.Error == nil || !strings.Contains(rep.Error.Message, "body larger than") {
		t.Errorf("GET /huge: %+v, want an error", rep.Error)
	}
	if _, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/slow", Timeout: 200 * time.Millisecond}); rep.Error == nil || rep.Error.Code != agentproto.CodeTimeout {
		t.Errorf("GET /slow: %+v, want code timeout", rep.Error)
	}
	// Nothing listening: the node's Kong does not answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/metrics"
	l.Close()
	if _, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: closed}); rep.Error == nil || rep.Error.Code != agentproto.CodeUnhealthy || !strings.Contains(rep.Error.Message, closed) {
		t.Errorf("GET %s: %+v, want code unhealthy naming the URL", closed, rep.Error)
	}
	for _, bad := range []string{"", "ftp://x/", "/metrics", "http://"} {
		if _, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: bad}); rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
			t.Errorf("GET %q: %+v, want invalid_request", bad, rep.Error)
		}
	}
}

// TestWithDialTimeout: a request's own timeout bounds the op, and 10s
// when it sets none (or a negative one).
func TestWithDialTimeout(t *testing.T) {
	for _, tc := range []struct{ set, want time.Duration }{{0, 10 * time.Second}, {-time.Second, 10 * time.Second}, {3 * time.Second, 3 * time.Second}} {
		ctx, cancel := withDialTimeout(context.Background(), tc.set)
		dl, ok := ctx.Deadline()
		cancel()
		if left := time.Until(dl); !ok || left > tc.want || left < tc.want-time.Second {
			t.Errorf("timeout %s: deadline in %s, want %s", tc.set, left, tc.want)
		}
	}
}
