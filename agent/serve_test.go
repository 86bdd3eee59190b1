package agent

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// servePipes runs a.Serve on pipes and returns its stdin, its stdout and
// its exit code (once it has returned).
func servePipes(t *testing.T, a *Agent) (*io.PipeWriter, *io.PipeReader, chan int) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- a.Serve(context.Background(), inR, outW, io.Discard)
		outW.Close()
	}()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	return inW, outR, code
}

func sendFrame(t *testing.T, w io.Writer, kind agentproto.FrameKind, id uint32, req *agentproto.Request) {
	t.Helper()
	var body []byte
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			t.Fatal(err)
		}
	}
	if err := agentproto.WriteFrame(w, agentproto.Frame{Kind: kind, ID: id, Payload: body}); err != nil {
		t.Fatal(err)
	}
}

func readReply(t *testing.T, r io.Reader) (uint32, *agentproto.Reply) {
	t.Helper()
	f, err := agentproto.ReadFrame(r, agentproto.MaxReplyBytes)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var rep agentproto.Reply
	if err := json.Unmarshal(f.Payload, &rep); err != nil {
		t.Fatalf("reply %q: %v", f.Payload, err)
	}
	return f.ID, &rep
}

// A session greets with its hello, answers a fast request while a slow
// one runs, cancels a request on a cancel frame (still answering it), and
// ends at the end of its stdin.
func TestServeSession(t *testing.T) {
	a := testAgent(t)
	in, out, code := servePipes(t, a)
	f, err := agentproto.ReadFrame(out, agentproto.MaxReplyBytes)
	if err != nil || f.Kind != agentproto.FrameHello {
		t.Fatalf("greeting: %+v, %v", f, err)
	}
	var hello agentproto.Reply
	if err := json.Unmarshal(f.Payload, &hello); err != nil || hello.ProtocolVersion != agentproto.ProtocolVersion || hello.Op != agentproto.OpHello || hello.Error != nil {
		t.Fatalf("greeting %s: %v", f.Payload, err)
	}
	sendFrame(t, in, agentproto.FrameRequest, 7, mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "sleep 30"}))
	sendFrame(t, in, agentproto.FrameRequest, 8, mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "echo fast"}))
	start := time.Now()
	id, rep := readReply(t, out)
	if id != 8 || rep.Op != agentproto.OpExec || rep.Error != nil || rep.StdoutTail != "fast\n" {
		t.Fatalf("first reply: id %d %+v, want the fast request's", id, rep)
	}
	sendFrame(t, in, agentproto.FrameCancel, 7, nil)
	id, rep = readReply(t, out)
	if id != 7 || rep.Error == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("cancelled request: id %d %+v after %s, want its failure at once", id, rep, time.Since(start))
	}
	// A request left running is cancelled when stdin ends.
	sendFrame(t, in, agentproto.FrameRequest, 9, mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "sleep 30"}))
	time.Sleep(200 * time.Millisecond)
	in.Close()
	go io.Copy(io.Discard, out)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("serve exited %d at the end of stdin", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not end with its stdin")
	}
}

// A frame that is not one ends the session with an error.
func TestServeRefusesGarbage(t *testing.T) {
	a := testAgent(t)
	in, out, code := servePipes(t, a)
	go io.Copy(io.Discard, out)
	go io.WriteString(in, "{\"protocol_version\":2}\n")
	if c := <-code; c != 1 {
		t.Fatalf("serve exited %d on garbage, want 1", c)
	}
}
