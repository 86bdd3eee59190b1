package agentclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/boundedio"
	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/sshremote"
)

// session is one `kongctl-agent serve` on the node, in one SSH session
// (one sudo with become), carrying every call of the client
// (agentproto/frame.go): calls are framed with an id, run concurrently on
// the node and answered in any order. A session that ends (the
// connection lost, the agent gone) fails the calls in flight as a
// per-call session failed them before: a transport error when SSH lost
// the session, a failed call when the agent exited without answering or
// sent too much. The client's next call starts a new session.
type session struct {
	host  string
	stdin *io.PipeWriter // frames to the agent
	wmu   sync.Mutex     // one frame at a time on stdin
	kill  context.CancelFunc
	ended chan struct{} // closed when the SSH session has returned

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]*pendingCall // id 0: the greeting
	err     error                   // why the session ended; nil while it runs
	done    chan struct{}           // closed with err set
	hello   *agentproto.Reply       // the greeting
}

// pendingCall is a call waiting for its reply.
type pendingCall struct {
	op agentproto.Op
	ch chan callResult // buffered 1
}

type callResult struct {
	payload []byte
	err     error
}

// sessionStderrTail is how much of the agent's stderr a session keeps to
// explain its end.
const sessionStderrTail = 4096

// startSession starts the agent's session and waits (up to ctx) for its
// greeting, refusing an agent of another protocol. op names the call that
// needs it, for the errors. boot, when not nil, makes it a delivery's
// first session (bootstrap.go), which may send the agent first; its
// refusal of the upload is an *UploadCheckError.
func (c *Client) startSession(ctx context.Context, op agentproto.Op, boot *bootstrap) (*session, error) {
	host := c.r.Name()
	sctx, kill := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{host: host, stdin: inW, kill: kill, ended: make(chan struct{}), nextID: 1,
		pending: map[uint32]*pendingCall{}, done: make(chan struct{})}
	greet := &pendingCall{op: op, ch: make(chan callResult, 1)}
	s.pending[0] = greet
	tail := &boundedio.Tail{N: sessionStderrTail}
	stderr := &boundedio.Limit{W: tail, N: sshremote.MaxOutputBytes, OnExceed: func() {
		s.fail(func(op agentproto.Op) error {
			return &ReplyTooLargeError{Host: host, Op: op, Stream: "stderr", Limit: sshremote.MaxOutputBytes,
				Err: &sshremote.OutputLimitError{Stream: "stderr", Limit: sshremote.MaxOutputBytes}}
		})
	}}
	serve := "serve"
	if c.opts.StateDir != "" {
		serve += " --state-dir " + shellquote.Quote(c.opts.StateDir)
	}
	cmd := "exec " + shellquote.Quote(c.path) + " " + serve
	if boot != nil {
		cmd = boot.script(serve)
	}
	go func() {
		defer close(s.ended)
		res, err := c.r.Run(sctx, sshremote.RunRequest{Cmd: cmd, Stdin: inR, Stdout: outW, Stderr: stderr, Become: c.opts.Become})
		inR.Close()
		switch ierr := boot.installError(res.ExitCode, tail.Bytes()); {
		case err != nil:
			err = &TransportError{err}
		case ierr != nil:
			err = ierr
		default:
			err = fmt.Errorf("agent %s exited %d without answering: %s", c.path, res.ExitCode, tailString(tail.Bytes(), 512))
		}
		outW.CloseWithError(err) // the reader fails what still waits with it
	}()
	go func() {
		out := bufio.NewReader(outR)
		if boot != nil {
			if err := boot.negotiate(out, inW); err != nil {
				s.fail(func(agentproto.Op) error { return err })
				outR.Close()
				return
			}
		}
		s.read(out, outR)
	}()
	var r callResult
	select {
	case r = <-greet.ch:
	case <-ctx.Done():
		r.err = &TransportError{fmt.Errorf("agent session: %w", ctx.Err())}
	}
	if r.err == nil {
		r.err = s.greeted(r.payload, c.path)
	}
	if r.err != nil {
		s.fail(func(agentproto.Op) error { return r.err })
		return nil, r.err
	}
	c.processes.Add(1)
	return s, nil
}

// greeted checks the agent's greeting: a hello reply of this protocol.
func (s *session) greeted(payload []byte, path string) error {
	rep, err := agentproto.DecodeReply(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("agent session greeting: %w", err)
	}
	if rep.ProtocolVersion != agentproto.ProtocolVersion {
		return fmt.Errorf("agent %s speaks protocol %d, kongctl speaks %d: refusing it", path, rep.ProtocolVersion, agentproto.ProtocolVersion)
	}
	if rep.Error != nil {
		return fmt.Errorf("agent session greeting: %w", rep.Error)
	}
	s.mu.Lock()
	s.hello = rep
	s.mu.Unlock()
	return nil
}

// helloResult is the greeting's hello result.
func (s *session) helloResult() (*agentproto.HelloResult, error) {
	s.mu.Lock()
	rep := s.hello
	s.mu.Unlock()
	h, err := agentproto.DecodeResult[agentproto.HelloResult](rep)
	if err != nil {
		return nil, fmt.Errorf("agent session greeting: %w", err)
	}
	return &h, nil
}

// read passes each reply to its call until the stream ends, then fails
// the session with why it ended.
func (s *session) read(out io.Reader, closer io.Closer) {
	defer closer.Close()
	for first := true; ; first = false {
		f, err := agentproto.ReadFrame(out, agentproto.MaxReplyBytes)
		var big *agentproto.FrameTooLargeError
		switch {
		case errors.As(err, &big):
			id := big.ID
			if first {
				id = 0
			}
			s.failOne(id, func(op agentproto.Op) error {
				return &ReplyTooLargeError{Host: s.host, Op: op, Stream: "stdout", Limit: agentproto.MaxReplyBytes,
					Err: &sshremote.OutputLimitError{Stream: "stdout", Limit: agentproto.MaxReplyBytes}}
			})
			err = fmt.Errorf("agent session closed: %w", err)
		case err == io.ErrUnexpectedEOF:
			err = fmt.Errorf("agent session: reply cut short: %w", err)
		case err == nil && first && f.Kind != agentproto.FrameHello,
			err == nil && !first && f.Kind != agentproto.FrameReply:
			err = fmt.Errorf("agent session: unexpected frame %c %d", f.Kind, f.ID)
		case err == nil:
			if first {
				f.ID = 0
			}
			s.deliver(f.ID, f.Payload)
			continue
		}
		if err == io.EOF { // not wrapped: the pipe's own end, never the transport's
			err = errors.New("agent session ended")
		}
		s.fail(func(agentproto.Op) error { return err })
		return
	}
}

// deliver hands payload to the call id (dropped when that call has gone:
// cancelled).
func (s *session) deliver(id uint32, payload []byte) {
	s.mu.Lock()
	p := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if p != nil {
		p.ch <- callResult{payload: payload}
	}
}

// failOne fails call id with errFor(its op).
func (s *session) failOne(id uint32, errFor func(agentproto.Op) error) {
	s.mu.Lock()
	p := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if p != nil {
		p.ch <- callResult{err: errFor(p.op)}
	}
}

// fail ends the session (first reason wins), failing every call still
// waiting with errFor(its op), and stops the agent.
func (s *session) fail(errFor func(agentproto.Op) error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = errFor("")
	close(s.done)
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, p := range pending {
		p.ch <- callResult{err: errFor(p.op)}
	}
	s.stdin.CloseWithError(s.err)
	s.kill()
}

// alive reports whether the session still takes calls.
func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// call sends one request and waits for its reply. A ctx that ends first
// cancels the request on the node (its late reply is dropped).
func (s *session) call(ctx context.Context, op agentproto.Op, body []byte) ([]byte, error) {
	p := &pendingCall{op: op, ch: make(chan callResult, 1)}
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	id := s.nextID
	s.nextID++
	if s.nextID == 0 {
		s.nextID = 1 // 0 is the greeting's
	}
	s.pending[id] = p
	s.mu.Unlock()
	if err := s.send(agentproto.Frame{Kind: agentproto.FrameRequest, ID: id, Payload: body}); err != nil {
		s.failOne(id, func(agentproto.Op) error { return &TransportError{fmt.Errorf("agent session: send request: %w", err)} })
	}
	select {
	case r := <-p.ch:
		return r.payload, r.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	_, waiting := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !waiting { // answered or failed meanwhile
		r := <-p.ch
		return r.payload, r.err
	}
	go s.send(agentproto.Frame{Kind: agentproto.FrameCancel, ID: id})
	return nil, &TransportError{fmt.Errorf("agent session: %w", ctx.Err())}
}

// send writes one frame to the agent.
func (s *session) send(f agentproto.Frame) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return agentproto.WriteFrame(s.stdin, f)
}

// close ends the session: the agent sees the end of its stdin, cancels
// what still runs and exits; after grace it is killed.
func (s *session) close(grace time.Duration) {
	s.wmu.Lock()
	s.stdin.Close()
	s.wmu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.ended:
	case <-t.C:
	}
	s.fail(func(agentproto.Op) error { return errors.New("agent session closed") })
	<-s.ended
}

// session returns the client's live session, starting one when there is
// none (the first call, or the previous session ended).
func (c *Client) session(ctx context.Context, op agentproto.Op) (*session, error) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.sess != nil && c.sess.alive() {
		return c.sess, nil
	}
	s, err := c.startSession(ctx, op, nil)
	if err != nil {
		return nil, err
	}
	c.sess = s
	return s, nil
}

// Close ends the client's agent session, if one runs (the agent exits;
// detached steps go on). The next call would start a new one.
func (c *Client) Close() {
	c.smu.Lock()
	s := c.sess
	c.sess = nil
	c.smu.Unlock()
	if s != nil {
		s.close(5 * time.Second)
	}
}
