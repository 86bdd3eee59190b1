package agentclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
)

// deliveredClient is a client of the agent built by TestMain, delivered
// to an in-process SSH server, and its connection.
func deliveredClient(t *testing.T) (*Client, *sshremote.Client, string) {
	t.Helper()
	_, remote := dialTestServer(t)
	root := t.TempDir()
	c := New(remote, Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary})
	if _, err := c.Deliver(testCtx(t), nil); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	t.Cleanup(c.Close)
	return c, remote, root
}

// execInFlight starts an exec of command and returns, once it runs on
// the node, where its error will come.
func execInFlight(t *testing.T, c *Client, command string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(testCtx(t), agentproto.ExecParams{Command: command})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	return done
}

// Concurrent calls share the one session and one agent process; a slow
// call does not hold up the fast ones beside it, and each caller gets
// its own reply.
func TestSessionConcurrentCallsBesideASlowOne(t *testing.T) {
	c, remote, _ := deliveredClient(t)
	sessions := remote.Sessions()
	slowStart := time.Now()
	slowDone := execInFlight(t, c, "sleep 4; echo slow")
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			res, err := c.Exec(testCtx(t), agentproto.ExecParams{Command: fmt.Sprintf("echo %d", i)})
			if err == nil && res.StdoutTail != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("call %d got %q", i, res.StdoutTail)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	fast := time.Since(start)
	select {
	case err := <-slowDone:
		t.Fatalf("the slow call ended (%v) before the fast ones were checked", err)
	default:
	}
	if fast > 3*time.Second {
		t.Fatalf("16 fast calls took %s beside a slow one: held up", fast)
	}
	if err := <-slowDone; err != nil || time.Since(slowStart) < 4*time.Second {
		t.Fatalf("slow call: %v after %s", err, time.Since(slowStart))
	}
	if p, s := c.Processes(), remote.Sessions(); p != 1 || s != sessions {
		t.Fatalf("%d agent processes, %d SSH sessions (%d before the calls); want 1 and no new session", p, s, sessions)
	}
}

// A cancelled call returns at once as a lost one and its operation is
// stopped on the node; the session goes on serving.
func TestSessionCancelStopsTheOp(t *testing.T) {
	c, _, root := deliveredClient(t)
	marker := filepath.Join(root, "finished")
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, agentproto.ExecParams{Command: "sleep 3; touch " + marker})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	cancel()
	err := <-done
	var te *TransportError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &te) || !strings.Contains(err.Error(), "host kong-1: agent exec") {
		t.Fatalf("cancelled call: %v, want a transport error naming the host and wrapping context.Canceled", err)
	}
	time.Sleep(4 * time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the cancelled op ran to its end on the node")
	}
	if _, err := c.Hello(testCtx(t)); err != nil || c.Processes() != 1 {
		t.Fatalf("call after the cancel: %v (%d processes, want 1)", err, c.Processes())
	}
}

// The agent gone mid-request (killed on the node) fails the calls in
// flight as a failed call, not a lost connection; the next call starts a
// new session transparently.
func TestSessionAgentKilledMidRequest(t *testing.T) {
	c, remote, _ := deliveredClient(t)
	slow := execInFlight(t, c, "sleep 30")
	// The command's parent is the agent: kill it under its own request.
	_, err := c.Exec(testCtx(t), agentproto.ExecParams{Command: "kill -9 $PPID; sleep 1"})
	for _, err := range []error{err, <-slow} {
		var te *TransportError
		if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "host kong-1: agent exec") || !strings.Contains(err.Error(), "without answering") {
			t.Fatalf("call in flight when the agent died: %v, want a failed call naming the host", err)
		}
	}
	sessions := remote.Sessions()
	if _, err := c.Hello(testCtx(t)); err != nil {
		t.Fatalf("call after the agent died: %v", err)
	}
	if p, s := c.Processes(), remote.Sessions(); p != 2 || s != sessions+1 {
		t.Fatalf("%d agent processes, %d sessions (%d before); want 2 and one new session", p, s, sessions)
	}
}

// The SSH connection lost mid-request fails the calls in flight as lost
// (fleet.ConnectionLost), as a per-call session lost did.
func TestSessionConnectionLostMidRequest(t *testing.T) {
	c, remote, _ := deliveredClient(t)
	done := execInFlight(t, c, "sleep 30")
	remote.Close()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight did not end with its connection")
	}
	var te *TransportError
	if !errors.As(err, &te) || !te.ConnectionLost() || !strings.Contains(err.Error(), "host kong-1: agent exec") {
		t.Fatalf("call in flight on a lost connection: %v, want a transport error naming the host", err)
	}
	if _, err := c.Hello(testCtx(t)); !errors.As(err, &te) {
		t.Fatalf("call on the lost connection: %v, want a transport error", err)
	}
}

// An agent of another protocol is refused by name, host included; so is
// an older agent that has no session (it exits at `serve`).
func TestSessionRefusesAnotherProtocol(t *testing.T) {
	r := &greetRemote{greeting: helloReply(agentproto.ProtocolVersion + 1)}
	c := New(r, Options{})
	c.SetPath("/var/lib/kongctl/bin/kongctl-agent-x")
	_, err := c.Hello(context.Background())
	want := fmt.Sprintf("host kong-9: agent hello: agent /var/lib/kongctl/bin/kongctl-agent-x speaks protocol %d, kongctl speaks %d", agentproto.ProtocolVersion+1, agentproto.ProtocolVersion)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	old := &greetRemote{exit: 2}
	c = New(old, Options{})
	c.SetPath("/var/lib/kongctl/bin/kongctl-agent-x")
	_, err = c.Facts(context.Background(), agentproto.FactsParams{})
	var te *TransportError
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "host kong-9: agent facts") || !strings.Contains(err.Error(), "exited 2") {
		t.Fatalf("old agent: %v, want a failed call naming the host", err)
	}
}

// greetRemote's agent greets with greeting, or exits with exit at once.
type greetRemote struct {
	cannedRemote
	greeting []byte
	exit     int
}

func (r *greetRemote) Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error) {
	if r.greeting == nil {
		return sshremote.RunResult{ExitCode: r.exit}, nil
	}
	return fakeSession(ctx, req, r.greeting, func([]byte) []byte { return nil })
}
