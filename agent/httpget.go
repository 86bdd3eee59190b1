package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// httpGet answers http.get: one GET to a listener of Kong on this node,
// whose whole body comes back (up to agentproto.MaxHTTPBody). The node
// needs no curl for it, and no output is cut to a tail.
func (a *Agent) httpGet(ctx context.Context, p *agentproto.HTTPGetParams) (*agentproto.HTTPGetResult, error) {
	ctx, cancel := withDialTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := newHTTPRequest(p)
	if err != nil {
		return nil, agentproto.Errorf(agentproto.CodeInvalid, "%s %s: %v", cmp.Or(p.Method, "GET"), p.URL, err)
	}
	start := time.Now()
	resp, err := httpDo(ctx, req)
	if err != nil {
		return nil, httpGetError(p.URL, err)
	}
	defer resp.Close()
	res := &agentproto.HTTPGetResult{Status: resp.Status}
	var body []byte
	if p.Discard {
		res.Bytes, err = io.Copy(io.Discard, resp.Body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, agentproto.MaxHTTPBody+1))
		res.Bytes = int64(len(body))
	}
	if err != nil {
		return nil, httpGetError(p.URL, err)
	}
	if res.Bytes > agentproto.MaxHTTPBody {
		return nil, agentproto.Errorf(agentproto.CodeInvalid, "GET %s: body larger than %d bytes", p.URL, agentproto.MaxHTTPBody)
	}
	res.Body = string(body)
	res.Latency = time.Since(start)
	return res, nil
}

// httpGetError classifies a failed GET: out of time, or no answer from the
// listener (Kong not serving there).
func httpGetError(url string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return agentproto.Errorf(agentproto.CodeTimeout, "GET %s: %v", url, err)
	}
	return agentproto.Errorf(agentproto.CodeUnhealthy, "GET %s: %v", url, err)
}

// newHTTPRequest is the GET, or the POST of p.Form urlencoded: to the
// node's own listener, any certificate accepted, no redirect followed.
func newHTTPRequest(p *agentproto.HTTPGetParams) (httpRequest, error) {
	req := httpRequest{Method: "GET", URL: p.URL, Host: p.Host}
	if p.Method != "" && p.Method != "GET" && p.Method != "POST" {
		return req, fmt.Errorf("unsupported method %q", p.Method)
	}
	if p.AdminToken != "" {
		req.Header = append(req.Header, [2]string{cmp.Or(p.TokenHeader, agentproto.DefaultTokenHeader), p.AdminToken})
	}
	if p.Method == "POST" {
		form := url.Values{}
		for k, v := range p.Form {
			form.Set(k, v)
		}
		req.Method, req.Body = "POST", form.Encode()
		req.Header = append(req.Header, [2]string{"Content-Type", "application/x-www-form-urlencoded"})
	}
	return req, nil
}

// dialTimeout bounds an op that talks to one listener or socket on the
// node (http.get, lb.haproxy) when the request sets no timeout.
const dialTimeout = 10 * time.Second

// withDialTimeout is ctx bounded by timeout, or by dialTimeout when the
// request set none.
func withDialTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = dialTimeout
	}
	return context.WithTimeout(ctx, timeout)
}
