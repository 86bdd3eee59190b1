package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/kongctl/kongctl/controller/progress"
)

// PhaseWindow names the group of phases that make the downtime window.
const PhaseWindow PhaseName = "window"

// besideChain bounds the installs that run while the migration node's
// chain does (see windowPhase).
const besideChain = 4

// errNotStarted ends the migration node's chain when another node's step
// failed first.
var errNotStarted = errors.New("not started: the window stopped on another node's failure")

// windowPhase runs the downtime window: stop, backup-check, after_stop
// hooks, install, migrations and start, built around the migration node,
// whose chain (install → up → finish → start) is the critical path:
//
//   - stop = "parallel" (default), in place: the migration node stops
//     first and gets Y while the other nodes still serve X; then the others
//     stop at once. The fleet is down from that second stop only.
//   - stop = "sequential": every node stops one after the other in stop
//     order, as an operator draining each through a load balancer does.
//   - Then the migration node runs `migrations up` (and `finish` unless
//     finish = "after-verify") and starts Y: the fleet serves again. The
//     other nodes install Y while the migrations run and start as soon as
//     the database allows (after finish, or after up with after-verify).
//
// Each part is still its own phase (its steps, journal keys, timeline
// entry and undo), entered when its first step begins, so the rollback
// undoes them in reverse order as before. A part that fails stops the
// chain before its next step; steps already running on other nodes are
// let finish (an install is never cut half-way) before the window ends.
type windowPhase struct {
	install bool // in place: Y is installed inside the window
	finish  bool // migrations finish runs inside the window (before start)
}

func (windowPhase) name() PhaseName { return PhaseWindow }

// parts are the phases of the window in the order their undo must be
// reversed: what rollbackRun and the plan walk.
func (w windowPhase) parts() []phase {
	ps := []phase{stopPhase{}, backupCheckPhase{}, hookPhase{PhaseAfterStop, HookAfterStop}}
	if w.install {
		// The intermediate hops (none for one hop: the phase then does
		// nothing and is never entered) come before Y's install.
		ps = append(ps, hopsPhase{}, installPhase{})
	}
	ps = append(ps, migratePhase{})
	if w.finish {
		ps = append(ps, migratePhase{finish: true})
	}
	return append(ps, startPhase{})
}

// group is a phase made of phases that it enters itself.
type group interface {
	phase
	parts() []phase
}

// flatPhases is the pipeline with every group expanded into its parts.
func flatPhases(ps []phase) []phase {
	var out []phase
	for _, p := range ps {
		if g, ok := p.(group); ok {
			out = append(out, g.parts()...)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (w windowPhase) run(ctx context.Context, e *engine) error {
	mig := e.spec.MigrationHost
	stop := e.stage(ctx, stopPhase{}, len(e.spec.Nodes))
	var install *stage
	if w.install {
		install = e.stage(ctx, installPhase{}, len(e.spec.Nodes))
	}
	var early bool // Y (or the first hop's version) went on the migration node before the others stopped
	hops := len(e.pf.Hops) > 0
	err := func() error {
		rest := e.spec.Nodes
		if e.spec.StopMode == StopSequential {
			for _, h := range rest {
				if err := stop.do(ctx, h, e.stopNode); err != nil {
					return err
				}
			}
			return nil
		}
		if install != nil && len(rest) > 1 && slices.Contains(rest, mig) {
			if err := stop.do(ctx, mig, e.stopNode); err != nil {
				return err
			}
			if hops {
				// Several hops: the first hop's version goes on early;
				// Y follows the hops.
				e.enter(hopsPhase{})
				if err := e.installHop(ctx, 0); err != nil {
					return err
				}
			} else if err := install.do(ctx, mig, e.installY); err != nil {
				return err
			}
			early = true
			rest = slices.DeleteFunc(slices.Clone(rest), func(h string) bool { return h == mig })
		}
		return e.forEach(ctx, rest, nodeLimit, func(ctx context.Context, h string) error {
			return stop.do(ctx, h, e.stopNode)
		})
	}()
	stop.close()
	if err != nil {
		install.close()
		return err
	}
	for _, p := range []phase{backupCheckPhase{}, hookPhase{PhaseAfterStop, HookAfterStop}} {
		e.enter(p)
		if err := e.runPhase(ctx, p); err != nil {
			install.close()
			return err
		}
	}

	start := e.stage(ctx, startPhase{}, len(e.spec.targets()))
	ready := make(chan struct{}) // closed once the database takes Y and the migration node serves
	halt := make(chan struct{})  // closed when the window fails
	var haltOnce sync.Once
	stopAll := func() { haltOnce.Do(func() { close(halt) }) }
	halted := func() bool { return closed(halt) }

	// The other nodes install Y while the migrations run, and each starts
	// once its install is done and the database takes Y.
	others := slices.DeleteFunc(slices.Clone(e.spec.targets()), func(h string) bool { return h == mig })
	installDone := map[string]chan error{}
	for _, h := range others {
		installDone[h] = make(chan error, 1)
	}
	var installErr, startErr error
	installed := make(chan struct{})
	// Beside the chain, at most besideChain installs run at once, so that
	// they never crowd the migration node out where nodes share hardware
	// (VMs on one hypervisor, the lab; they also run at a lower CPU
	// priority); once it serves, the rest go at full width.
	beside := make(chan struct{}, besideChain)
	go func() {
		defer close(installed)
		installErr = e.forEach(ctx, others, nodeLimit, func(ctx context.Context, h string) error {
			var err error
			if install != nil {
				select {
				case beside <- struct{}{}:
					defer func() { <-beside }()
				case <-ready:
				case <-halt:
				}
				if halted() {
					// The window failed elsewhere: no Y for the rollback to
					// take off again.
					installDone[h] <- nil
					return nil
				}
				err = install.do(ctx, h, e.installY)
			}
			if err != nil {
				stopAll()
			}
			installDone[h] <- err
			return err
		})
	}()
	started := make(chan struct{})
	go func() {
		defer close(started)
		startSem := make(chan struct{}, e.spec.limit(startLimit))
		startErr = e.forEach(ctx, others, len(others), func(ctx context.Context, h string) error {
			select {
			case <-ready:
			case <-halt:
				return nil // not started: the failure that halted the window says why
			}
			if err := <-installDone[h]; err != nil {
				return nil // its install's error is reported
			}
			select {
			case startSem <- struct{}{}:
			case <-ctx.Done():
				return fmt.Errorf("start kong %s on %s: %w", e.spec.To, h, ctx.Err())
			}
			defer func() { <-startSem }()
			return start.do(ctx, h, e.startY)
		})
	}()

	// The critical path: the migration node.
	chainErr := func() error {
		if install != nil && hops {
			// As before each migration step below: a node that failed to
			// install Y ends the chain before the hops' migrations.
			if halted() {
				return fmt.Errorf("%s on %s: %w", PhaseHops, mig, errNotStarted)
			}
			if !early {
				e.enter(hopsPhase{})
			}
			if err := e.runPhase(ctx, hopsPhase{}); err != nil {
				return err
			}
		}
		if install != nil && (!early || hops) {
			if err := install.do(ctx, mig, e.installY); err != nil {
				return err
			}
		}
		for _, p := range w.migrations() {
			// A node that failed to install Y ends the chain before the
			// next migration step. finish does not wait for installs
			// still running: should one fail after it, the rollback
			// restores the backup, which holds every write (they are
			// frozen), as for any failure past the point of no return.
			if halted() {
				return fmt.Errorf("%s on %s: %w", p.name(), mig, errNotStarted)
			}
			e.enter(p)
			if err := e.runPhase(ctx, p); err != nil {
				return err
			}
		}
		// The migration node starts first, alone: the fleet serves again
		// when it does, so nothing competes with it; the others follow.
		if !slices.Contains(e.spec.targets(), mig) {
			close(ready)
			return nil
		}
		if err := start.do(ctx, mig, e.startY); err != nil {
			return err
		}
		close(ready)
		return nil
	}()
	if chainErr != nil {
		stopAll()
	}
	<-installed
	<-started
	install.close()
	start.close()
	if errors.Is(chainErr, errNotStarted) {
		// The chain stopped for another node's failure: that one says why.
		chainErr = nil
	}
	if err := errors.Join(chainErr, installErr, startErr); err != nil {
		return err
	}
	// The fleet serves: only now is Y held against automatic upgrades
	// where the lean install left the hold out of the downtime.
	if install != nil {
		e.holdPackages(ctx, e.spec.targets())
	}
	return nil
}

// migrations are the migration phases inside the window.
func (w windowPhase) migrations() []phase {
	if w.finish {
		return []phase{migratePhase{}, migratePhase{finish: true}}
	}
	return []phase{migratePhase{}}
}

// enter records p as started, so that a rollback undoes it.
func (e *engine) enter(p phase) {
	e.mu.Lock()
	e.started = append(e.started, p)
	e.mu.Unlock()
}

// stage is one phase of the window whose steps run on several hosts,
// possibly interleaved with other phases: it is entered (started, in the
// timeline, PhaseStart emitted) with its first step and ends with its
// last one, or when the window closes it.
type stage struct {
	e      *engine
	ctx    context.Context // the window's, for the run summary
	p      phase
	expect int

	mu    sync.Mutex
	begun bool
	ended bool
	pr    PhaseResult
	n     int
	errs  []error
}

func (e *engine) stage(ctx context.Context, p phase, expect int) *stage {
	return &stage{e: e, ctx: ctx, p: p, expect: expect}
}

// do runs one host's step of the stage.
func (s *stage) do(ctx context.Context, h string, fn func(ctx context.Context, h string) error) error {
	s.mu.Lock()
	if !s.begun {
		s.begun = true
		s.pr = PhaseResult{Phase: string(s.p.name()), Started: s.e.clk.Now(), Status: ResultOK}
		s.e.enter(s.p)
		s.e.emit(progress.Event{Type: progress.PhaseStart, Phase: string(s.p.name()), Total: s.expect})
	}
	s.mu.Unlock()
	err := fn(ctx, h)
	s.mu.Lock()
	s.n++
	if err != nil {
		s.errs = append(s.errs, err)
	}
	last := s.n >= s.expect
	s.mu.Unlock()
	if last {
		s.close()
	}
	return err
}

// close ends the stage if it began and has not ended (nil-safe).
func (s *stage) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if !s.begun || s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	pr := s.pr
	pr.Finished = s.e.clk.Now()
	if err := errors.Join(s.errs...); err != nil {
		pr.Status, pr.Error = ResultFailed, s.e.red.err(err)
	}
	s.mu.Unlock()
	s.e.endPhase(s.ctx, pr)
}
