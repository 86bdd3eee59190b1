package runner

import (
	"context"
	"fmt"
	"slices"

	"github.com/kongctl/kongctl/controller/progress"
)

// runPhases runs phases in order. On failure it returns the index of the
// failed phase and the error.
func (e *engine) runPhases(ctx context.Context, phases []phase) (int, error) {
	for i, p := range phases {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		if e.softStopped() {
			return i, fmt.Errorf("before %s: %w", p.name(), ErrInterrupted)
		}
		if _, ok := p.(group); ok {
			// A group enters its parts itself, as each begins.
			if err := p.run(ctx, e); err != nil {
				return i, err
			}
			continue
		}
		e.enter(p)
		if err := e.runPhase(ctx, p); err != nil {
			return i, err
		}
	}
	return len(phases), nil
}

func (e *engine) runPhase(ctx context.Context, p phase) error {
	t0 := e.clk.Now()
	e.emit(progress.Event{Type: progress.PhaseStart, Phase: string(p.name()), Total: e.phaseTotal(p)})
	err := runBounded(ctx, p.name(), e.spec.phaseTimeout(p.name()), func(ctx context.Context) error { return p.run(ctx, e) })
	pr := PhaseResult{Phase: string(p.name()), Started: t0, Finished: e.clk.Now(), Status: ResultOK}
	if err != nil {
		pr.Status, pr.Error = ResultFailed, e.red.err(err)
	}
	e.endPhase(ctx, pr)
	return err
}

// endPhase puts a phase's result in the timeline, tells the operator and
// records it in the run summary.
func (e *engine) endPhase(ctx context.Context, pr PhaseResult) {
	e.mu.Lock()
	e.timeline = append(e.timeline, pr)
	e.mu.Unlock()
	e.emit(progress.Event{Type: progress.PhaseEnd, Phase: pr.Phase, Status: string(pr.Status), Error: pr.Error, Duration: pr.Finished.Sub(pr.Started).Seconds()})
	e.recordRun(ctx, pr.Phase, string(pr.Status))
}

// phaseTotal is the number of hosts p works on, when it says (sized): the
// progress bars size themselves with it.
func (e *engine) phaseTotal(p phase) int {
	if s, ok := p.(sized); ok {
		return s.total(e)
	}
	return 0
}

// allHosts are the hosts preflight connects to.
func (e *engine) allHosts() []string {
	var out []string
	out = append(out, e.spec.Nodes...)
	for _, h := range e.spec.Spares {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, h := range e.spec.DataPlanes {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
