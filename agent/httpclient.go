package agent

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// The agent's HTTP client: one HTTP/1.1 exchange with a listener of Kong
// on this node (its Admin API, status and proxy listeners), over net and
// crypto/tls. It stands in for net/http, which would add about 1.2 MB to
// every node's agent (issue 21: the node agent stays under 6 MB). What it
// does not do, the agent never needs: no proxy (the node's own
// listeners), no redirect followed, no keep-alive, no HTTP/2.

// httpRequest is one request.
type httpRequest struct {
	Method string // GET or POST
	URL    string // http:// or https://
	Host   string // the Host header ("" = the URL's host)
	Header [][2]string
	Body   string
	// Verify checks the server's certificate (system roots); else any
	// certificate is accepted (the node's own listener, often self-signed).
	Verify bool
}

// httpResponse is a response whose body is read from Body until EOF;
// Close ends the connection.
type httpResponse struct {
	Status int
	Body   io.Reader
	conn   net.Conn
	stop   func() bool
}

func (r *httpResponse) Close() error {
	r.stop()
	return r.conn.Close()
}

// httpDo sends req and reads the response's status line and headers. ctx
// bounds the whole exchange, the body's reading included.
func httpDo(ctx context.Context, req httpRequest) (*httpResponse, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q (want http or https)", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host in the URL")
	}
	host := req.Host
	if host == "" {
		host = u.Host
	}
	for _, v := range append([]string{req.Method, host}, headerWords(req.Header)...) {
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, errors.New("a request header holds a line break or NUL")
		}
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kongctl-agent\r\nConnection: close\r\n", req.Method, u.RequestURI(), host)
	for _, h := range req.Header {
		fmt.Fprintf(&head, "%s: %s\r\n", h[0], h[1])
	}
	if req.Body != "" || req.Method == "POST" {
		fmt.Fprintf(&head, "Content-Length: %d\r\n", len(req.Body))
	}
	head.WriteString("\r\n")
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, err
	}
	// ctx ends the exchange wherever it is (a listener that accepts and
	// never answers must not hold the agent).
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*httpResponse, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", ctx.Err(), err)
		}
		return nil, err
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: !req.Verify})
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		conn = tc
	}
	if _, err := io.WriteString(conn, head.String()+req.Body); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(conn)
	for {
		status, hdr, err := readResponseHead(br)
		if err != nil {
			return fail(err)
		}
		if status >= 100 && status < 200 {
			continue // 100 Continue and the like: the real response follows
		}
		resp := &httpResponse{Status: status, conn: conn, stop: stop}
		switch {
		case req.Method == "HEAD" || status == 204 || status == 304:
			resp.Body = strings.NewReader("")
		case strings.EqualFold(hdr["transfer-encoding"], "chunked"):
			resp.Body = &chunkedReader{r: br}
		case hdr["content-length"] != "":
			n, err := strconv.ParseInt(hdr["content-length"], 10, 64)
			if err != nil || n < 0 {
				return fail(fmt.Errorf("bad Content-Length %q", hdr["content-length"]))
			}
			resp.Body = &exactReader{r: io.LimitReader(br, n), left: n}
		default:
			resp.Body = br
		}
		resp.Body = &ctxReader{r: resp.Body, ctx: ctx}
		return resp, nil
	}
}

func headerWords(h [][2]string) []string {
	var out []string
	for _, kv := range h {
		out = append(out, kv[0], kv[1])
	}
	return out
}

// readResponseHead reads a status line and the headers (names lower-cased;
// a repeated header keeps its last value).
func readResponseHead(br *bufio.Reader) (int, map[string]string, error) {
	line, err := readLine(br)
	if err != nil {
		return 0, nil, fmt.Errorf("read status line: %w", err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, nil, fmt.Errorf("malformed HTTP status line %q", clip(line, 128))
	}
	hdr := map[string]string{}
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return 0, nil, fmt.Errorf("read headers: %w", err)
		}
		if line == "" {
			return status, hdr, nil
		}
		if n > 1000 {
			return 0, nil, errors.New("too many headers")
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return 0, nil, fmt.Errorf("malformed header line %q", clip(line, 128))
		}
		hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}

// readLine reads one CRLF- (or LF-) terminated line of at most 64 KiB.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > 64<<10 {
			return "", errors.New("line longer than 64 KiB")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// chunkedReader decodes a chunked body (RFC 9112 7.1); trailers are read
// and dropped.
type chunkedReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the current chunk
	done bool
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		line, err := readLine(c.r)
		if err != nil {
			return 0, fmt.Errorf("read chunk size: %w", err)
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad chunk size %q", clip(line, 64))
		}
		if n == 0 {
			for {
				l, err := readLine(c.r)
				if err != nil {
					return 0, fmt.Errorf("read trailers: %w", err)
				}
				if l == "" {
					c.done = true
					return 0, io.EOF
				}
			}
		}
		c.left = n
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		if l, lerr := readLine(c.r); lerr != nil || l != "" {
			return n, fmt.Errorf("chunk not followed by CRLF: %v", lerr)
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// exactReader fails a body shorter than its Content-Length.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// ctxReader reports ctx's end (the connection closed under the read) as
// the read's error.
type ctxReader struct {
	r   io.Reader
	ctx context.Context
}

func (c *ctxReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.ctx.Err() != nil {
		err = fmt.Errorf("%w: %v", c.ctx.Err(), err)
	}
	return n, err
}
