package traffic

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The client counts what a server answers: 2xx succeed, 503 is a refusal,
// 502 and a connection closed mid-answer are cuts; the longest gap spans
// the time the server answered nothing well.
func TestClientKinds(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "503":
			w.WriteHeader(503)
		case "cut":
			if r.URL.Path == "/b" {
				w.WriteHeader(502)
				return
			}
			// Promise a body, then hang up mid-answer.
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("partial"))
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	c, err := Start(context.Background(), Options{URLs: []string{srv.URL + "/a", srv.URL + "/b"}, Workers: 2, Pause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	mode.Store("503")
	time.Sleep(300 * time.Millisecond)
	mode.Store("cut")
	time.Sleep(150 * time.Millisecond)
	mode.Store("ok")
	time.Sleep(150 * time.Millisecond)
	r := c.Stop()
	t.Log(r)
	if r.OK == 0 || r.ByKind[Refused] == 0 || r.ByKind[Cut] == 0 || r.Sent != r.OK+r.Failed {
		t.Fatalf("result %+v: want successes, refusals and cuts", r)
	}
	if r.LongestGap < 400*time.Millisecond || r.LongestGap > 2*time.Second {
		t.Errorf("longest gap %s, want about 450ms (503 then cuts)", r.LongestGap)
	}
	if !strings.Contains(r.String(), "refused") || !strings.Contains(strings.Join(r.Samples[Cut], "\n"), "502") {
		t.Errorf("summary %q, cut samples %q", r, r.Samples[Cut])
	}
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Error("no URL: no error")
	}
}
