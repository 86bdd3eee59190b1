package fleet

import (
	"errors"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ErrLockHeld is wrapped by Locker.Acquire when another run holds the lock.
var ErrLockHeld = errors.New("fleet lock held by another run")

// ErrStepLost is wrapped when a detached step's runner on the node died
// without recording a reply (the node rebooted, the runner was killed):
// the step ended, but what it did is unknown.
var ErrStepLost = errors.New("detached step lost")

// connectError is a failed connection to a host that may succeed later.
type connectError struct{ err error }

func (e *connectError) Error() string        { return e.err.Error() }
func (e *connectError) Unwrap() error        { return e.err }
func (e *connectError) ConnectionLost() bool { return true }

// permanentError is a connection refused for good.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks a failed connection that trying again cannot mend: a
// host key that is unknown or does not match, authentication refused.
// Connectors mark such errors; ConnectFailed leaves them as they are.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ConnectFailed marks a failed connection to a host as one that may
// succeed later, unless the connector marked it Permanent.
func ConnectFailed(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &connectError{err}
}

// ConnectionLost reports whether err is a call that never got an answer
// from its host (the connection could not be made or broke), as opposed
// to an operation the host ran and reported as failed. Transports mark
// such errors with a ConnectionLost() bool method (the agent client's
// TransportError has it); ConnectFailed's errors have it.
func ConnectionLost(err error) bool {
	var l interface{ ConnectionLost() bool }
	return errors.As(err, &l) && l.ConnectionLost()
}

// IsStepLost reports whether err says a detached step's runner died on
// the node without a reply (ErrStepLost, or the agent's step_lost).
func IsStepLost(err error) bool {
	return errors.Is(err, ErrStepLost) || agentproto.CodeOf(err) == agentproto.CodeStepLost
}

// DatabaseUnreachable reports whether err is a host's report that it could
// not reach the database (the agent's db_unreachable), a fault that may
// pass by itself.
func DatabaseUnreachable(err error) bool {
	return agentproto.CodeOf(err) == agentproto.CodeDBUnreachable
}
