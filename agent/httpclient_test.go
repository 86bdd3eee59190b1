package agent

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawServer answers every connection with resp, after reading the
// request's head; it returns the base URL.
func rawServer(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			for {
				l, err := br.ReadString('\n')
				if err != nil || l == "\r\n" {
					break
				}
			}
			io.WriteString(c, resp)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}

func getBody(t *testing.T, url string) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, err := httpDo(ctx, httpRequest{Method: "GET", URL: url})
	if err != nil {
		return 0, "", err
	}
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.Status, string(b), err
}

// The agent's HTTP client reads what Kong's listeners send: chunked
// bodies (extensions, trailers), a Content-Length, a body to the close, an
// interim 100 before the response; a body cut short is an error.
func TestHTTPClientResponses(t *testing.T) {
	for _, tc := range []struct {
		name, resp string
		status     int
		body       string
		fail       bool
	}{
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", 200, "hello world", false},
		{"length", "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef", 404, "abc", false},
		{"to close", "HTTP/1.0 200 OK\r\n\r\nall of it", 200, "all of it", false},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, "", false},
		{"short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, "abc", true},
		{"chunk cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 200, "hel", true},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", true},
	} {
		status, body, err := getBody(t, rawServer(t, tc.resp)+"/")
		if (err != nil) != tc.fail || status != tc.status || body != tc.body {
			t.Errorf("%s: status %d body %q err %v; want %d %q fail %v", tc.name, status, body, err, tc.status, tc.body, tc.fail)
		}
	}
}

// A header value with a line break never reaches the wire (a token could
// otherwise add headers or a request).
func TestHTTPClientRefusesHeaderInjection(t *testing.T) {
	url := rawServer(t, "HTTP/1.1 200 OK\r\n\r\n")
	for _, req := range []httpRequest{
		{Method: "GET", URL: url, Header: [][2]string{{"Kong-Admin-Token", "x\r\nX-Evil: 1"}}},
		{Method: "GET", URL: url, Host: "h\nX: y"},
		{Method: "GET", URL: "ftp://127.0.0.1/"},
	} {
		if resp, err := httpDo(t.Context(), req); err == nil {
			resp.Close()
			t.Errorf("%+v: sent", req)
		}
	}
}

// A listener that accepts and never answers ends with the context.
func TestHTTPClientTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = httpDo(ctx, httpRequest{Method: "GET", URL: "http://" + ln.Addr().String() + "/"})
	if err == nil || !strings.Contains(err.Error(), "deadline") || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %v, want the deadline", err, time.Since(start))
	}
}
