package cli

import (
	"errors"
	"fmt"

	"github.com/kongctl/kongctl/controller"
)

// Exit codes of kongctl. They are part of the interface: scripts and CI
// branch on them, and README.md documents them.
const (
	ExitOK         = 0 // success
	ExitFailure    = 1 // the operation failed
	ExitUsage      = 2 // bad command line or invalid inventory
	ExitRolledBack = 3 // the upgrade failed and the fleet was rolled back to the old version
	ExitPaused     = 4 // the upgrade stopped and waits for `kongctl upgrade --resume`
)

// ExitError carries the exit code a command ends with. Commands return it
// (or wrap it); Main maps every error to a code in one place, exitCode.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// WithCode wraps err so that kongctl exits with code. A nil err stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// usageErrorf is a command-line mistake: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to kongctl's exit code: an ExitError's own code,
// else 1.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// errPlanNotReady is returned when the preflight found a blocking problem;
// the plan printed says which.
var errPlanNotReady = errors.New("the fleet is not ready for this upgrade (see the findings above)")

// outcomeCode is the exit code a run's outcome ends kongctl with.
func outcomeCode(o controller.Outcome) int {
	switch o {
	case controller.Succeeded:
		return ExitOK
	case controller.RolledBack:
		return ExitRolledBack
	case controller.Paused:
		return ExitPaused
	}
	return ExitFailure
}

// errOutcome says how a run ended when it did not succeed.
func errOutcome(o controller.Outcome) error {
	switch o {
	case controller.RolledBack:
		return errors.New("the upgrade failed and the fleet was rolled back (see the report)")
	case controller.Paused:
		return errors.New("the upgrade is paused; the report says how to resume or roll back")
	}
	return fmt.Errorf("the run ended %s (see the report)", o)
}
