package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
)

// runConfig is what the flows need beyond the Spec.
type runConfig struct {
	conn    fleet.Connector
	clk     clock
	sink    progress.Sink
	yes     bool
	confirm func(string) bool
	resume  bool
	version string
	intr    <-chan struct{} // the operator's soft interrupt (WithInterrupt)
}

func newRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func lockOwner() string {
	u := "unknown"
	if cu, err := user.Current(); err == nil {
		u = cu.Username
	}
	h, _ := os.Hostname()
	return u + "@" + h
}

// openRun starts a new run (journal created) or reopens the latest one
// for resume/rollback.
func openRun(spec *Spec, cfg runConfig, op string, reopen bool) (*engine, error) {
	e := newEngine(spec, cfg.conn, cfg.clk, cfg.sink, &redactor{})
	e.op, e.yes, e.confirm, e.intr = op, cfg.yes, cfg.confirm, cfg.intr
	if reopen {
		dir, err := journal.Latest(spec.StateDir)
		if err != nil {
			return nil, err
		}
		if dir == "" {
			return nil, fmt.Errorf("no run journal under %s to %s", spec.StateDir, op)
		}
		j, err := journal.Open(dir, e.clk.Now)
		if err != nil {
			return nil, err
		}
		h := j.Header()
		if h.InventoryHash != "" && spec.InventoryHash != "" && h.InventoryHash != spec.InventoryHash {
			e.note("the inventory changed since run %s started; continuing with the journaled versions (X=%s, Y=%s)", h.RunID, h.From, h.To)
		}
		e.j, e.runID = j, h.RunID
		e.prior = j.State()
		if h.To != "" {
			spec.To = h.To
		}
		if h.MigrationHost != "" {
			spec.MigrationHost = h.MigrationHost
		}
		stepData(e.prior, preflightStep, &e.pf)
		// The backup a rollback restores: the check's retake, else the
		// backup taken before the stop.
		e.backup = cmp.Or(journaledBackup(e.prior, backupCheckStep), journaledBackup(e.prior, backupStep))
		return e, nil
	}
	e.runID = newRunID(e.clk.Now())
	j, err := journal.Create(spec.StateDir, journal.Header{
		RunID: e.runID, Started: e.clk.Now(), InventoryPath: spec.InventoryPath, InventoryHash: spec.InventoryHash,
		From: spec.From, To: spec.To, Hosts: append(slices.Clone(spec.Nodes), spec.Spares...), MigrationHost: spec.MigrationHost,
		OnFailure: string(spec.OnFailure), Version: cfg.version,
	}, e.clk.Now)
	if err != nil {
		return nil, err
	}
	e.j = j
	return e, nil
}

// upgrade runs the whole pipeline: a new run, or the latest one resumed.
func upgrade(ctx context.Context, spec *Spec, cfg runConfig) (*Report, error) {
	cfg.intr = interruptOf(ctx)
	spec.withDefaults()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := spec.checkBackupKeys(); err != nil {
		return nil, err
	}
	if cfg.resume {
		recs, err := latestRecords(spec.StateDir)
		if err != nil {
			return nil, err
		}
		last := journal.Fold(recs).LastRun()
		switch last.Status {
		case "succeeded", "rolled-back":
			return nil, fmt.Errorf("the latest run %s already ended (%s): nothing to resume", recs[0].Header.RunID, last.Status)
		}
	}
	e, err := openRun(spec, cfg, "upgrade", cfg.resume)
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.resumableRoll(); err != nil {
		return nil, err
	}
	started := e.clk.Now()
	msg := fmt.Sprintf("upgrade %s → %s on %s", orDefault(spec.From, "detected X"), spec.To, strings.Join(spec.targets(), ", "))
	if cfg.resume {
		msg = "resuming " + msg
	}
	e.emit(progress.Event{Type: progress.RunStart, Message: msg})

	phases := e.phases()
	// Preflight, then ask before anything changes. Preflight changes
	// nothing: an interrupt stops it at once.
	pctx, pcancel := hardOnInterrupt(ctx)
	idx, err := e.runPhases(pctx, phases[:1])
	pcancel()
	if err == nil && !stepDone(e.prior, lockStep) {
		if cerr := e.confirmDowntime(); cerr != nil {
			_ = e.j.Run("failed", cerr.Error())
			return e.finish(started, Failed, cerr, nil), nil
		}
	}
	if err == nil {
		// The lock, then (on a resume) the repair of a package operation
		// left half-done, before anything else changes.
		var i int
		i, err = e.runPhases(ctx, phases[1:2])
		idx = i + 1
		if err == nil && cfg.resume {
			if rerr := e.repairInterrupted(ctx); rerr != nil {
				return e.repairFailed(started, rerr), nil
			}
		}
		if err == nil {
			i, err = e.runPhases(ctx, phases[2:])
			idx = i + 2
		}
	}
	if err == nil {
		_ = e.j.Run("succeeded", "")
		return e.finish(started, Succeeded, nil, nil), nil
	}
	return e.failed(ctx, started, phases, idx, err), nil
}

// confirmDowntime asks the operator (unless --yes) before the first
// change.
func (e *engine) confirmDowntime() error {
	if e.yes {
		return nil
	}
	prompt := fmt.Sprintf("Upgrade %s → %s: stop %d node(s) (%s), run migrations on %s, start them on %s%s. Continue?",
		e.pf.From, e.spec.To, len(e.spec.Nodes), strings.Join(e.spec.Nodes, ", "), e.spec.MigrationHost, e.spec.To, e.dpPrompt())
	if e.confirm == nil {
		return errors.New("not confirmed: pass --yes to run without a prompt")
	}
	if !e.confirm(prompt) {
		return errors.New("cancelled by the operator before any change")
	}
	return nil
}

// failed handles a failed phase: pause, roll back, or just fail when
// nothing changed yet.
func (e *engine) failed(ctx context.Context, started time.Time, phases []phase, idx int, err error) *Report {
	changed := false
	e.mu.Lock()
	for _, p := range e.started {
		switch p.name() {
		case PhasePreflight, PhaseLock, PhaseBackup, PhaseRehearsal, PhaseBeforeStop:
		default:
			changed = true
		}
	}
	e.mu.Unlock()
	interrupted := ctx.Err() != nil || errors.Is(err, ErrInterrupted)
	if !changed && ctx.Err() == nil {
		rerr := e.releaseLock(context.WithoutCancel(ctx))
		_ = e.j.Run("failed", e.red.err(err))
		r := e.finish(started, Failed, err, rerr)
		if rerr != nil {
			// Nothing changed, but a lock left behind would refuse every
			// later run: say exactly how to clear it.
			inv := orDefault(e.spec.InventoryPath, "INVENTORY")
			r.Next = fmt.Sprintf("nothing was changed, but the fleet lock of run %s could not be released; once the database is reachable, clear it with `kongctl unlock -i %s --run %s`", e.runID, inv, e.runID)
			e.emit(progress.Event{Type: progress.Message, Message: r.Next})
		}
		return r
	}
	// A failed data-plane batch stops the roll, whatever on_failure says:
	// the control planes serve Y, verified (phase_dataplanes.go).
	dpRoll := idx < len(phases) && phases[idx].name() == PhaseDataPlanes
	if interrupted || e.spec.OnFailure == OnFailurePause || dpRoll {
		why := "paused after a failure (on_failure = pause)"
		if interrupted {
			why = "interrupted"
		}
		e.stopHeartbeat()
		_ = e.j.Run("paused", e.red.err(err))
		r := e.finish(started, Paused, err, nil)
		if dpRoll && !interrupted {
			r.Next = e.dpRollStopped()
			e.emit(progress.Event{Type: progress.Message, Message: r.Next})
			return r
		}
		r.Next = fmt.Sprintf("%s; the fleet lock stays held by run %s. Continue with `kongctl upgrade -i %s --resume`, or undo with `kongctl rollback -i %s`",
			why, e.runID, orDefault(e.spec.InventoryPath, "INVENTORY"), orDefault(e.spec.InventoryPath, "INVENTORY"))
		e.emit(progress.Event{Type: progress.Message, Message: r.Next})
		return r
	}
	rerr := e.rollback(ctx)
	if rerr == nil {
		e.runRollbackHooks(ctx)
		_ = e.j.Run("rolled-back", e.red.err(err))
		return e.finish(started, RolledBack, err, nil)
	}
	e.stopHeartbeat()
	_ = e.j.Run("failed", e.red.err(errors.Join(err, rerr)))
	r := e.finish(started, Failed, err, rerr)
	r.Next = fmt.Sprintf("the rollback did not complete; the fleet lock stays held. Fix the cause, then `kongctl rollback -i %s` continues it", orDefault(e.spec.InventoryPath, "INVENTORY"))
	return r
}

func (e *engine) runRollbackHooks(ctx context.Context) {
	if len(e.spec.Hooks[HookOnRollback]) == 0 {
		return
	}
	if err := (hookPhase{PhaseName("hooks-on-rollback"), HookOnRollback}).run(ctx, e); err != nil {
		e.find(Finding{Severity: SevWarning, Code: "hook", Message: e.red.err(err)})
	}
}

// rollbackRun undoes the latest run from its journal (on demand).
func rollbackRun(ctx context.Context, spec *Spec, cfg runConfig) (*Report, error) {
	cfg.intr = interruptOf(ctx)
	spec.withDefaults()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	e, err := openRun(spec, cfg, "rollback", true)
	if err != nil {
		return nil, err
	}
	defer e.close()
	started := e.clk.Now()
	last := e.prior.LastRun()
	if last.Status == "rolled-back" {
		return nil, fmt.Errorf("run %s was already rolled back", e.runID)
	}
	if err := e.requireRestoreKey(); err != nil { // backupcrypt.go
		return nil, err
	}
	if last.Status == "succeeded" {
		if !e.yes && (e.confirm == nil || !e.confirm(e.rollbackQuestion())) {
			return nil, errors.New("not confirmed: rolling back a succeeded run loses writes made since; pass --yes to do it")
		}
	}
	e.emit(progress.Event{Type: progress.RunStart, Message: "rollback of run " + e.runID})
	// Re-enter the run's own lock (or find it taken by another run).
	if err := (lockPhase{}).run(ctx, e); err != nil {
		return e.finish(started, Failed, err, nil), nil
	}
	// A package operation a dead controller left half-done is repaired
	// before any undo reinstalls or starts anything.
	if err := e.repairInterrupted(ctx); err != nil {
		return e.repairFailed(started, err), nil
	}
	// The phases that started, from the journal.
	st := e.j.State()
	for _, p := range flatPhases(e.journaledPhases()) {
		if phaseStarted(st, p.name(), e.spec) {
			e.started = append(e.started, p)
		}
	}
	if !e.spec.DualCluster && slices.ContainsFunc(e.started, func(p phase) bool { return p.name() == PhaseMigrateFinish }) {
		e.pnr = true
	}
	if err := e.rollback(ctx); err != nil {
		e.stopHeartbeat()
		_ = e.j.Run("failed", e.red.err(err))
		return e.finish(started, Failed, nil, err), nil
	}
	e.runRollbackHooks(ctx)
	if err := e.releaseLock(ctx); err != nil {
		e.find(Finding{Severity: SevWarning, Code: "fleet-lock", Message: e.red.err(err)})
	}
	_ = e.j.Run("rolled-back", "on demand")
	return e.finish(started, RolledBack, nil, nil), nil
}

// phaseStarted tells from the journal whether a phase changed anything.
func phaseStarted(st *journal.State, p PhaseName, spec *Spec) bool {
	prefix := map[PhaseName]string{
		PhaseStop: string(stopSteps), PhaseInstall: string(installSteps), PhaseMigrateUp: string(migrateUpStep),
		PhaseMigrateFinish: string(migrateFinishStep), PhaseStart: string(startSteps), PhaseLock: string(lockStep),
		PhaseDecommission: string(decommissionSteps), PhaseDataPlanes: "dp/", PhaseHops: hopStepsPrefix,
		PhaseTargetDB: string(targetDBStep), PhaseShift: string(shiftSteps),
	}[p]
	if spec.DualCluster && p == PhaseDecommission {
		prefix = string(xDecommissionSteps)
	}
	if prefix == "" {
		return false
	}
	if p == PhaseMigrateFinish && stepStatus(st, pointOfNoReturnStep) != "" {
		return true
	}
	return len(st.Steps(prefix)) > 0
}

func latestRecords(root string) ([]journal.Record, error) {
	dir, err := journal.Latest(root)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("no run journal under %s to resume", root)
	}
	return journal.Read(dir)
}

// finish builds the report.
func (e *engine) finish(started time.Time, o Outcome, err, rerr error) *Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := &Report{
		RunID: e.runID, Operation: e.op, Outcome: o, From: e.pf.From, To: e.spec.To,
		MigrationHost: e.spec.MigrationHost, Started: started, Finished: e.clk.Now(),
		Timeline: slices.Clone(e.timeline), Findings: slices.Clone(e.findings), Gates: slices.Clone(e.verify.gates), BackupsPruned: slices.Clone(e.retention.pruned),
		Error: e.red.err(err), RollbackError: e.red.err(rerr), PointOfNoReturn: e.pnr,
	}
	if e.backup != nil {
		b := *e.backup
		r.Backup = &b
	}
	if e.rehearsal != nil {
		rh := *e.rehearsal
		r.Rehearsal = &rh
	}
	if tr, ok := e.conn.(fleet.TransportReporter); ok {
		t := tr.Transport()
		r.Transport = &t
	}
	if e.j != nil {
		r.Journal = e.j.Dir()
		r.Downtime = downtime(e.j.Records(), e.spec)
		r.Hops = hopReports(e.j.Records(), e.pf, e.spec.To, e.spec.MigrationHost) // hopreport.go
		if r.Downtime != nil {
			r.Order = e.orderText()
		}
	}
	for _, h := range append(slices.Clone(e.spec.Nodes), e.spec.Spares...) {
		hr := HostReport{Name: h, Roles: e.spec.host(h).Roles, FromVersion: e.pf.Facts[h].Version, Steps: e.hostSteps[h], Result: ResultUntouched}
		for _, s := range hr.Steps {
			if s.Status == ResultOK || s.Status == ResultSkipped {
				hr.Result = ResultOK
			}
		}
		for _, s := range hr.Steps {
			if s.Status == ResultFailed {
				hr.Result = ResultFailed
			}
		}
		switch {
		case o == RolledBack && slices.Contains(e.spec.Nodes, h):
			hr.Result, hr.Version = ResultRolledBack, e.pf.From
		case (o == Succeeded || o == Paused && e.stepStarted(dpCompatSteps.of("1"))) && slices.Contains(e.spec.targets(), h):
			// Paused in the data-plane roll: the control planes passed
			// verify on Y before it began.
			hr.Version = e.spec.To
		case o == Succeeded && e.spec.DualCluster && slices.Contains(e.spec.Nodes, h):
			hr.Result, hr.Version = e.dualClusterXReport(h)
		case o == Succeeded && e.j != nil && stepDone(e.j, decommissionSteps.of(h)):
			hr.Result, hr.Version = ResultDecommissioned, "removed"
		case o == Succeeded:
			hr.Version = e.pf.From + " (stopped)"
		}
		r.Hosts = append(r.Hosts, hr)
	}
	r.Hosts = append(r.Hosts, e.dataPlaneReports()...)
	e.sink.Emit(progress.Event{Time: e.clk.Now(), Type: progress.RunEnd, RunID: e.runID, Status: string(o), Message: r.Error})
	return r
}

// orderText says how the window ran, for the report.
func (e *engine) orderText() string {
	s := "nodes stopped at once"
	switch {
	case e.spec.StopMode == StopSequential:
		s = "nodes stopped one after the other (stop = \"sequential\")"
	case !e.spec.NewHosts && len(e.spec.Nodes) > 1:
		s = "stop = \"parallel\": " + e.spec.MigrationHost + " stopped first and got " + e.spec.To + " while the others served, then the others stopped at once"
	}
	if e.spec.finishAfterVerify() {
		return s + "; finish = \"after-verify\": " + e.spec.To + " started right after migrations up, with pending migrations (Kong starts on a database whose only pending migrations are teardowns), and kong migrations finish ran once the verify gates passed"
	}
	return s + "; kong migrations up → finish → start on " + e.spec.MigrationHost + " first (the guide's order), the other nodes installed meanwhile (" + fmt.Sprint(besideChain) + " at a time, at a lower CPU priority) and each started once installed and " + e.spec.MigrationHost + " served"
}

// downtime measures the window from the journal: first stop → last node
// healthy (on Y, or on X again after a rollback), with the moment every
// node was down and the first node served again in between.
func downtime(recs []journal.Record, spec *Spec) *Window {
	var start, end, allDown, firstUp time.Time
	for _, r := range recs {
		if r.Kind != "step" {
			continue
		}
		if stopSteps.has(r.Step) {
			if r.Status == journal.Started && start.IsZero() {
				start = r.Time
			}
			if r.Status == journal.Done && r.Time.After(allDown) {
				allDown = r.Time
			}
		}
		if (startSteps.has(r.Step) || startXSteps.has(r.Step)) && r.Status == journal.Done {
			if r.Time.After(end) {
				end = r.Time
			}
			if firstUp.IsZero() || r.Time.Before(firstUp) {
				firstUp = r.Time
			}
		}
	}
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return nil
	}
	w := &Window{Start: start, End: end, Duration: end.Sub(start).Seconds(), FirstServing: firstUp, AllStopped: allDown}
	w.FirstServingAfter = firstUp.Sub(start).Seconds()
	if firstUp.After(allDown) && !allDown.IsZero() {
		w.FleetDown = firstUp.Sub(allDown).Seconds()
	}
	return w
}
