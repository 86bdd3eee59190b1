package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/kongctl/kongctl/controller/journal"
)

// step runs fn once per run: a step recorded done in the journal (by an
// earlier attempt of this run) is skipped. Its start, end and data are
// journaled (fsync'd) around fn.
func (e *engine) step(ctx context.Context, ph PhaseName, key StepKey, host string, fn func(ctx context.Context) (any, error)) error {
	if stepDone(e.prior, key) {
		e.hostResult(ph, host, ResultSkipped, 0, "done before resume", nil)
		return nil
	}
	if e.softStopped() {
		return fmt.Errorf("%s: not started: %w", key, ErrInterrupted)
	}
	if err := e.journalStep(ph, key, host, journal.Started, nil, nil); err != nil {
		return err
	}
	t0 := e.clk.Now()
	a0 := e.agentTimes(host)
	data, err := fn(ctx)
	d := e.clk.Now().Sub(t0)
	agent := agentDelta(a0, e.agentTimes(host))
	if err != nil {
		if jerr := e.journalStep(ph, key, host, journal.Failed, nil, err); jerr != nil {
			err = errors.Join(err, jerr)
		}
		if host != "" {
			e.hostResultTimed(ph, host, ResultFailed, t0, d, agent, "", err)
		}
		return err
	}
	if err := e.journalStep(ph, key, host, journal.Done, data, nil); err != nil {
		return err
	}
	if host != "" {
		e.hostResultTimed(ph, host, ResultOK, t0, d, agent, "", nil)
	}
	return nil
}

func (e *engine) journalStep(ph PhaseName, key StepKey, host string, st journal.Status, data any, err error) error {
	if e.j == nil {
		return nil
	}
	if err != nil {
		err = errors.New(e.red.err(err))
	}
	return e.j.Step(string(ph), string(key), host, st, data, err)
}

// stepStarted reports whether key was ever started in this run (any
// attempt).
func (e *engine) stepStarted(key StepKey) bool {
	if e.j == nil {
		return false
	}
	return stepStatus(e.j, key) != ""
}

// startedOn is those of hosts on which a step of steps was ever started
// in this run: the hosts an undo visits.
func (e *engine) startedOn(hosts []string, steps hostSteps) []string {
	var out []string
	for _, h := range hosts {
		if e.stepStarted(steps.of(h)) {
			out = append(out, h)
		}
	}
	return out
}

// softStopped reports whether the operator's soft interrupt came while
// the run goes forward (a rollback ignores it).
func (e *engine) softStopped() bool {
	e.mu.Lock()
	rb := e.rollingBack
	e.mu.Unlock()
	return !rb && closed(e.intr)
}

// undoStep journals a rollback step so an interrupted rollback resumes.
// A step that fails because its connection to the host was lost, or the
// host could not reach the database, is tried again for a while
// (retryTransient): rollback steps are safe to run twice.
func (e *engine) undoStep(ctx context.Context, ph PhaseName, key StepKey, host string, fn func(ctx context.Context) error) error {
	if e.j != nil && stepDone(e.j, key) {
		return nil
	}
	return e.step(ctx, ph, key, host, func(ctx context.Context) (any, error) {
		return nil, e.retryTransient(ctx, host, string(key), fn)
	})
}
