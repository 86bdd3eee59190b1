package agentclient

import (
	"fmt"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/boundedio"
)

// TransportError is a call that got no reply because the SSH session
// could not be opened or broke: whether the agent ran the operation is
// unknown. The error text is the transport's own.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ConnectionLost marks the call as one that never got an answer
// (fleet.ConnectionLost), so the runner retries it without knowing this
// package.
func (e *TransportError) ConnectionLost() bool { return true }

// ReplyTooLargeError is a call whose reply (stdout) or stderr passed the
// limit: the controller stopped reading there and closed the session, so
// a hostile or broken node costs bounded memory. It is a failed call, not
// a lost connection: it is not retried as one.
type ReplyTooLargeError struct {
	Host   string
	Op     agentproto.Op
	Stream string // "stdout" (the reply) or "stderr"
	Limit  int64
	Err    error // the transport's *sshremote.OutputLimitError
}

func (e *ReplyTooLargeError) Error() string {
	what := "reply"
	if e.Stream != "stdout" {
		what = e.Stream
	}
	return fmt.Sprintf("host %s: agent %s: %s larger than %s", e.Host, e.Op, what, boundedio.Size(e.Limit))
}

func (e *ReplyTooLargeError) Unwrap() error { return e.Err }

// OpError is an operation the agent ran and reported as failed. Unwrap
// gives the *agentproto.Error, so errors.As and agentproto.CodeOf work.
type OpError struct {
	Host       string
	Op         agentproto.Op
	Err        *agentproto.Error
	ExitStatus int
	StdoutTail string
	StderrTail string
	// Reply is the whole reply; some failures carry a partial result
	// (e.g. the holder of a fleet lock).
	Reply *agentproto.Reply
}

func (e *OpError) Error() string {
	return fmt.Sprintf("host %s: agent %s: %v", e.Host, e.Op, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }
