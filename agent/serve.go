package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Serve is `kongctl-agent serve`: one session carrying every request of a
// run (agentproto/frame.go). It greets with its hello (hashing its own
// executable once for the whole process), then runs each request framed
// on in concurrently and writes each reply framed on out, with the
// request's id, as soon as it is ready. A cancel frame cancels its
// request's context. When in ends (the controller closed the session or
// the connection was lost), every request still running is cancelled
// and Serve returns once they have answered; detached steps run in
// processes of their own and are not touched. It returns 0 at the clean
// end of in.
func (a *Agent) Serve(ctx context.Context, in io.Reader, out, errw io.Writer) int {
	ctx, stop := context.WithCancel(ctx)
	var (
		mu       sync.Mutex
		inflight = map[uint32]context.CancelFunc{}
		wg       sync.WaitGroup
	)
	defer func() { stop(); wg.Wait() }()
	var wmu sync.Mutex
	write := func(f agentproto.Frame) error {
		wmu.Lock()
		defer wmu.Unlock()
		return agentproto.WriteFrame(out, f)
	}
	if err := write(agentproto.Frame{Kind: agentproto.FrameHello, Payload: a.greeting()}); err != nil {
		fmt.Fprintf(errw, "kongctl-agent: serve: write greeting: %v\n", err)
		return 1
	}
	for {
		f, err := agentproto.ReadFrame(in, agentproto.MaxRequestBytes)
		if err != nil {
			// The session is over: the deferred stop cancels what runs.
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(errw, "kongctl-agent: serve: read request: %v\n", err)
			return 1
		}
		switch f.Kind {
		case agentproto.FrameCancel:
			mu.Lock()
			if cancel := inflight[f.ID]; cancel != nil {
				cancel()
			}
			mu.Unlock()
		case agentproto.FrameRequest:
			rctx, cancel := context.WithCancel(ctx)
			mu.Lock()
			if inflight[f.ID] != nil {
				mu.Unlock()
				cancel()
				fmt.Fprintf(errw, "kongctl-agent: serve: request id %d already in flight\n", f.ID)
				return 1
			}
			inflight[f.ID] = cancel
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := a.answer(rctx, bytes.NewReader(f.Payload))
				mu.Lock()
				delete(inflight, f.ID)
				mu.Unlock()
				cancel()
				if err != nil {
					fmt.Fprintf(errw, "kongctl-agent: serve: request %d: %v\n", f.ID, err)
					b = a.internalReply(err)
				}
				// A failed write is a lost session: in ends too.
				_ = write(agentproto.Frame{Kind: agentproto.FrameReply, ID: f.ID, Payload: b})
			}()
		default:
			fmt.Fprintf(errw, "kongctl-agent: serve: unexpected frame %c from the controller\n", f.Kind)
			return 1
		}
	}
}

// greeting is the session's first frame: the reply to hello.
func (a *Agent) greeting() []byte {
	rep := a.newReply(&agentproto.Request{Op: agentproto.OpHello})
	h, err := a.hello()
	if err != nil {
		rep.Error = toProtoError(err)
	} else {
		rep.ExitStatus = 0
		rep.Result, _ = json.Marshal(h)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return a.internalReply(err)
	}
	return b
}

// internalReply is the reply to a request whose own reply could not be
// encoded.
func (a *Agent) internalReply(err error) []byte {
	b, _ := json.Marshal(&agentproto.Reply{ProtocolVersion: agentproto.ProtocolVersion, AgentVersion: agentVersion(), ExitStatus: -1,
		Error: agentproto.Errorf(agentproto.CodeInternal, "%v", err)})
	return b
}
