package agentclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
	"github.com/kongctl/kongctl/sshremote/sshtest"
)

// cannedRemote answers every command with the same stdout: a hostile or
// broken agent. Its agent session (a Run that streams stdout) greets as
// an agent of this protocol, then answers every request frame with
// stdout as the reply's payload.
type cannedRemote struct {
	stdout []byte
	code   int
}

func (r *cannedRemote) Name() string { return "kong-9" }
func (r *cannedRemote) Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error) {
	if req.Stdout != nil {
		return fakeSession(ctx, req, helloReply(agentproto.ProtocolVersion), func([]byte) []byte { return r.stdout })
	}
	if req.Stdin != nil {
		io.Copy(io.Discard, req.Stdin)
	}
	return sshremote.RunResult{Stdout: r.stdout, ExitCode: r.code}, nil
}
func (r *cannedRemote) Upload(context.Context, string, io.Reader, int64, fs.FileMode, func(int64)) error {
	return errors.New("no upload")
}
func (r *cannedRemote) Rename(context.Context, string, string) error { return errors.New("no rename") }

// fakeSession plays `kongctl-agent serve` on req's streams: greeting
// first, then answer(request payload) for every request frame, until
// stdin ends or ctx does.
func fakeSession(ctx context.Context, req sshremote.RunRequest, greeting []byte, answer func([]byte) []byte) (sshremote.RunResult, error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if agentproto.WriteFrame(req.Stdout, agentproto.Frame{Kind: agentproto.FrameHello, Payload: greeting}) != nil {
			return
		}
		for {
			f, err := agentproto.ReadFrame(req.Stdin, agentproto.MaxRequestBytes)
			if err != nil {
				return
			}
			if f.Kind == agentproto.FrameRequest {
				if agentproto.WriteFrame(req.Stdout, agentproto.Frame{Kind: agentproto.FrameReply, ID: f.ID, Payload: answer(f.Payload)}) != nil {
					return
				}
			}
		}
	}()
	select {
	case <-done:
		return sshremote.RunResult{}, nil
	case <-ctx.Done():
		return sshremote.RunResult{}, ctx.Err()
	}
}

// helloReply is a greeting of protocol version v.
func helloReply(v int) []byte {
	b, _ := json.Marshal(map[string]any{"protocol_version": v, "agent_version": "x", "op": "hello", "exit_status": 0, "duration": 0,
		"result": map[string]any{"protocol_version": v, "agent_version": "x", "sha256": strings.Repeat("a", 64)}})
	return b
}

func replyJSON(t *testing.T, mut func(m map[string]any)) []byte {
	m := map[string]any{"protocol_version": agentproto.ProtocolVersion, "agent_version": "x", "op": string(agentproto.OpFacts), "exit_status": 0, "duration": 0, "result": map[string]any{}}
	mut(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileAgentReplies: malformed, huge, other-protocol, other-op,
// unknown-code and secret-echoing replies end in a clear error naming the
// host and the operation (or a scrubbed OpError), never a panic.
func TestHostileAgentReplies(t *testing.T) {
	const secret = "s3cr3t-Pa55word"
	huge := append([]byte(`{"protocol_version":1,"op":"facts","stdout_tail":"`), bytes.Repeat([]byte("A"), agentproto.MaxReplyBytes+10)...)
	huge = append(huge, []byte(`"}`)...)
	cases := []struct {
		name   string
		stdout []byte
		want   string // in the error
		opErr  bool
	}{
		{"empty", nil, "empty agent reply", false},
		{"not json", []byte("Segmentation fault (core dumped)\n"), "decode agent reply", false},
		{"truncated", []byte(`{"protocol_version":1,"op":"fac`), "decode agent reply", false},
		{"huge", huge, "reply larger than 16 MiB", false},
		{"unknown field", replyJSON(t, func(m map[string]any) { m["evil"] = true }), "decode agent reply", false},
		{"wrong protocol", replyJSON(t, func(m map[string]any) { m["protocol_version"] = 99 }), "protocol 99", false},
		{"another op", replyJSON(t, func(m map[string]any) { m["op"] = "db.restore" }), `operation "db.restore"`, false},
		{"wrong result type", replyJSON(t, func(m map[string]any) { m["result"] = []int{1, 2} }), "decode facts result", false},
		{"unknown error code", replyJSON(t, func(m map[string]any) {
			delete(m, "result")
			m["error"] = map[string]any{"code": "martian", "message": "???"}
		}), "martian", true},
		{"secret echoed", replyJSON(t, func(m map[string]any) {
			delete(m, "result")
			m["stderr_tail"] = "FATAL: password authentication failed: " + secret
			m["error"] = map[string]any{"code": "command_failed", "message": "psql: password " + secret}
		}), "command_failed", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(&cannedRemote{stdout: tc.stdout}, Options{Redact: []string{secret}})
			c.SetPath("/var/lib/kongctl/bin/kongctl-agent-x")
			_, err := c.Facts(context.Background(), agentproto.FactsParams{})
			if err == nil {
				t.Fatal("hostile reply accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, "kong-9") || !strings.Contains(msg, "facts") || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q: want host, op and %q", clipString(msg, 300), tc.want)
			}
			if len(msg) > 4096 {
				t.Fatalf("error is %d bytes: the reply is not bounded", len(msg))
			}
			var oe *OpError
			if errors.As(err, &oe) != tc.opErr {
				t.Fatalf("OpError = %v, want %v (%v)", !tc.opErr, tc.opErr, err)
			}
			if oe != nil {
				if strings.Contains(msg, secret) || strings.Contains(oe.StderrTail, secret) || strings.Contains(oe.Reply.StderrTail, secret) {
					t.Fatalf("secret echoed by the agent reached the error: %q / %q", msg, oe.StderrTail)
				}
				if agentproto.CodeOf(err) == "" {
					t.Fatalf("code lost: %v", err)
				}
			}
		})
	}
}

// TestHelloWithOtherHashRefused: an agent that answers hello with another
// SHA-256 than the binary kongctl delivered is refused.
func TestHelloWithOtherHashRefused(t *testing.T) {
	bin := &Binary{GOARCH: "amd64", Data: []byte("agent"), SHA256: strings.Repeat("a", 64)}
	hello := replyJSON(t, func(m map[string]any) {
		m["op"] = string(agentproto.OpHello)
		m["result"] = map[string]any{"protocol_version": agentproto.ProtocolVersion, "agent_version": "x", "sha256": strings.Repeat("b", 64), "goarch": "amd64"}
	})
	r := &seqRemote{outs: [][]byte{[]byte("x86_64\n" + strings.Repeat("a", 64) + "  /var/lib/kongctl/bin/kongctl-agent-" + bin.Short() + "\n")}, hello: hello}
	c := New(r, Options{Binary: func(string) (*Binary, error) { return bin, nil }})
	_, err := c.Deliver(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), "kong-9") {
		t.Fatalf("err = %v, want the hash mismatch refused", err)
	}
}

type seqRemote struct {
	cannedRemote
	outs  [][]byte // the commands' outputs in turn
	hello []byte   // the session's greeting and its reply to every request
	i     int
}

func (r *seqRemote) Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error) {
	if req.Stdout != nil {
		return fakeSession(ctx, req, r.hello, func([]byte) []byte { return r.hello })
	}
	if req.Stdin != nil {
		io.Copy(io.Discard, req.Stdin)
	}
	out := r.outs[min(r.i, len(r.outs)-1)]
	r.i++
	return sshremote.RunResult{Stdout: out}, nil
}

// TestHostileAgentGigabyteReply: over a real SSH connection, an "agent"
// whose session answers with a 1 GiB reply frame (a reply that never
// ends) or floods stderr fails the call by name, as a failed call and not
// a lost connection, and the controller's peak memory stays bounded.
func TestHostileAgentGigabyteReply(t *testing.T) {
	peak, child := sshtest.PeakRSS(t, 400<<20, func(t *testing.T) {
		var mode atomic.Value // which stream floods: "stdout", "stderr" or "" (none)
		srv := sshtest.NewServer(t, &sshtest.Options{Handler: func(ctx context.Context, e *sshtest.Exec) int {
			w := e.Stdout
			switch mode.Load() {
			case "stderr":
				go io.Copy(io.Discard, e.Stdin)
				w = e.Stderr
			case "stdout":
				// Greet, take the request, announce a 1 GiB reply and send it.
				agentproto.WriteFrame(w, agentproto.Frame{Kind: agentproto.FrameHello, Payload: helloReply(agentproto.ProtocolVersion)})
				f, err := agentproto.ReadFrame(e.Stdin, agentproto.MaxRequestBytes)
				if err != nil {
					return 1
				}
				go io.Copy(io.Discard, e.Stdin)
				hdr := []byte{byte(agentproto.FrameReply), 0, 0, 0, 0, 0x40, 0, 0, 0}
				binary.BigEndian.PutUint32(hdr[1:5], f.ID)
				w.Write(hdr)
			default:
				go io.Copy(io.Discard, e.Stdin)
				return 0
			}
			chunk := bytes.Repeat([]byte("A"), 1<<20)
			for i := 0; i < 1024 && ctx.Err() == nil; i++ {
				if _, err := w.Write(chunk); err != nil {
					return 1
				}
			}
			return 0
		}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		r, err := sshremote.Dial(ctx, &sshremote.Config{
			Name: "kong-1", Address: srv.Host, Port: srv.Port, User: "kong",
			KeyFiles: []string{srv.ClientKeyFile}, KnownHostsFiles: []string{srv.WriteKnownHosts(t)},
			ConnectTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		c := New(r, Options{})
		c.SetPath("/var/lib/kongctl/bin/kongctl-agent-x")
		for _, stream := range []string{"stdout", "stderr"} {
			mode.Store(stream)
			_, err := c.Facts(ctx, agentproto.FactsParams{})
			want := "host kong-1: agent facts: reply larger than 16 MiB"
			if stream == "stderr" {
				want = "host kong-1: agent facts: stderr larger than 16 MiB"
			}
			var big *ReplyTooLargeError
			var te *TransportError
			if err == nil || err.Error() != want || !errors.As(err, &big) || errors.As(err, &te) {
				t.Fatalf("%s: err = %v, want %q (a failed call, not a transport error)", stream, err, want)
			}
		}
		// The connection survives the hostile replies.
		mode.Store("")
		if res, err := r.Run(ctx, sshremote.RunRequest{Cmd: "x"}); err != nil || res.ExitCode != 0 {
			t.Fatalf("Run after the hostile replies: %v", err)
		}
	})
	if child {
		return
	}
	t.Logf("peak RSS %d MiB", peak>>20)
	if peak > sshtest.MemoryBar(200<<20) {
		t.Fatalf("peak RSS %d MiB for a 1 GiB agent reply, want under 200 MiB", peak>>20)
	}
}
