package agent

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// fakeRuntimeAPI serves one HAProxy-like runtime API on a unix socket:
// each connection reads one command line, answers reply(cmd) and closes.
func fakeRuntimeAPI(t *testing.T, reply func(cmd string) string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
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
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte(reply(strings.TrimSuffix(line, "\n"))))
			c.Close()
		}
	}()
	return sock
}

// lb.haproxy sends one command line on the socket and returns the whole
// reply; a missing socket is CodeNotFound naming it; a command with a
// newline (two commands smuggled in one) is refused before any dial;
// a reply past MaxLBReply is cut and says so.
func TestLBHAProxy(t *testing.T) {
	a := testAgent(t)
	var got []string
	sock := fakeRuntimeAPI(t, func(cmd string) string {
		got = append(got, cmd)
		if cmd == "show huge" {
			return strings.Repeat("x", agentproto.MaxLBReply+10)
		}
		return "# pxname,svname,scur\nkong,kong-1,0\n\n"
	})
	call := func(p agentproto.LBHAProxyParams) (*agentproto.LBHAProxyResult, *agentproto.Reply) {
		rep, _ := rpc(t, a, mustReq(t, agentproto.OpLBHAProxy, p))
		if rep.Error != nil {
			return nil, rep
		}
		res, err := agentproto.DecodeResult[agentproto.LBHAProxyResult](rep)
		if err != nil {
			t.Fatal(err)
		}
		return &res, rep
	}
	res, rep := call(agentproto.LBHAProxyParams{Socket: sock, Command: "show stat"})
	if res == nil || !strings.Contains(res.Output, "kong,kong-1,0") || res.Truncated {
		t.Fatalf("show stat: %+v %+v", res, rep.Error)
	}
	if len(got) != 1 || got[0] != "show stat" {
		t.Errorf("the socket got %q, want one \"show stat\"", got)
	}
	if res, _ := call(agentproto.LBHAProxyParams{Socket: sock, Command: "show huge"}); res == nil || !res.Truncated || len(res.Output) != agentproto.MaxLBReply {
		t.Errorf("a reply past MaxLBReply: truncated=%v len=%d", res != nil && res.Truncated, len(res.Output))
	}
	missing := filepath.Join(t.TempDir(), "none.sock")
	if _, rep := call(agentproto.LBHAProxyParams{Socket: missing, Command: "show stat"}); rep.Error == nil || rep.Error.Code != agentproto.CodeNotFound || !strings.Contains(rep.Error.Message, missing) {
		t.Errorf("missing socket: %+v, want not_found naming %s", rep.Error, missing)
	}
	if _, rep := call(agentproto.LBHAProxyParams{Socket: sock, Command: "show stat\nshutdown sessions server kong/kong-1"}); rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
		t.Errorf("two lines: %+v, want invalid", rep.Error)
	}
	if len(got) != 2 {
		t.Errorf("the socket got %d commands, want 2 (nothing for the refused ones)", len(got))
	}
}
