package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/internal/fanout"
	"github.com/kongctl/kongctl/kongver"
)

// PhaseName names a phase of the upgrade.
type PhaseName string

// The phases, in the order they run.
const (
	PhasePreflight     PhaseName = "preflight"
	PhaseLock          PhaseName = "lock"
	PhaseBackup        PhaseName = "backup"
	PhasePrepare       PhaseName = "prepare" // new-hosts mode only
	PhaseBeforeStop    PhaseName = "hooks-before-stop"
	PhaseStop          PhaseName = "stop"
	PhaseBackupCheck   PhaseName = "backup-check"
	PhaseAfterStop     PhaseName = "hooks-after-stop"
	PhaseInstall       PhaseName = "install" // in-place only
	PhaseMigrateUp     PhaseName = "migrate-up"
	PhaseMigrateFinish PhaseName = "migrate-finish"
	PhaseStart         PhaseName = "start"
	PhaseAfterStart    PhaseName = "hooks-after-start"
	PhaseVerify        PhaseName = "verify"
	PhaseCleanup       PhaseName = "cleanup"
)

// phase is one typed step of the pipeline. A phase may also implement
// undoer; rollbacks run in reverse order for the phases that started.
type phase interface {
	name() PhaseName
	run(ctx context.Context, e *engine) error
}

type undoer interface {
	undo(ctx context.Context, e *engine) error
}

// clock is injected so tests run soak windows and lock waits instantly.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// engine is the typed run state of one upgrade, rollback or plan. It is
// used by one run; fields below mu are written from host goroutines.
type engine struct {
	spec    *Spec
	conn    Connector
	clk     clock
	sink    progress.Sink
	red     *redactor
	runID   string
	op      string // upgrade | rollback | plan | status
	j       *journal.Journal
	prior   *journal.State // journal state when the run was (re)opened
	plan    bool           // preflight only: no staging, no side effects
	confirm func(string) bool
	exec    func(context.Context, ExecRequest) (ExecResult, error) // bastion hooks (tests)
	yes     bool
	limit   []string
	// intr is the operator's soft interrupt (WithInterrupt): forward steps
	// not yet started are refused once it is closed; undo steps are not.
	intr        <-chan struct{}
	rollingBack bool

	mu        sync.Mutex
	nodes     map[string]Node
	db        Database
	locker    Locker
	lock      *LockInfo
	hbCancel  context.CancelFunc
	hbDone    chan struct{}
	pf        preflightData
	backup    *BackupInfo // the kept backup (every accepted write)
	pnr       bool
	dbRestore bool // restored in this rollback
	findings  []Finding
	gates     []GateResult
	pruned    []string // backups deleted by retention
	timeline  []PhaseResult
	hostSteps map[string][]StepResult
	started   []phase

	// the run summary writer (recordRun)
	recPending *RunRecord
	recBusy    bool
	recWG      sync.WaitGroup

	// lastList is the `migrations list` that migrate-up ran last in this
	// process, reused once by migrate-finish right after it.
	lastList *SchemaState
}

// preflightData is what preflight learnt; it is journaled so a resumed run
// does not need the fleet in its pre-upgrade state.
type preflightData struct {
	From        string                `json:"from"`
	FromEdition string                `json:"from_edition"`
	To          string                `json:"to"`
	Facts       map[string]Facts      `json:"facts"`
	PkgX        map[string]PackageRef `json:"pkg_x,omitempty"`
	PkgY        map[string]PackageRef `json:"pkg_y"`
	Baseline    map[string]rateSample `json:"baseline,omitempty"`
	// MigTimeouts are the sized migration timeouts (migtimeouts.go).
	MigTimeouts *MigrationTimeouts `json:"mig_timeouts,omitempty"`
	// Keyring is the Enterprise keyring export the run restores
	// (keyring.go); nil when no node runs a cluster keyring.
	Keyring *keyringPlan `json:"keyring,omitempty"`
}

type rateSample struct {
	M0, M1 Metrics
	// Seconds between the two samples (0 in journals of older versions).
	Seconds float64 `json:",omitempty"`
}

func newEngine(spec *Spec, conn Connector, clk clock, sink progress.Sink, red *redactor) *engine {
	if clk == nil {
		clk = realClock{}
	}
	if sink == nil {
		sink = progress.Discard
	}
	if red == nil {
		red = &redactor{}
	}
	return &engine{
		spec: spec, conn: conn, clk: clk, sink: sink, red: red,
		nodes:     map[string]Node{},
		hostSteps: map[string][]StepResult{},
		prior:     journal.Fold(nil),
	}
}

// ---- events ----

func (e *engine) emit(ev progress.Event) {
	ev.Time = e.clk.Now()
	ev.RunID = e.runID
	ev.Message = e.red.redact(ev.Message)
	ev.Error = e.red.redact(ev.Error)
	ev.Fix = e.red.redact(ev.Fix)
	e.sink.Emit(ev)
}

func (e *engine) note(format string, args ...any) {
	e.emit(progress.Event{Type: progress.Message, Message: fmt.Sprintf(format, args...)})
}

func (e *engine) find(f Finding) {
	f.Message = e.red.redact(f.Message)
	f.Fix = e.red.redact(f.Fix)
	e.mu.Lock()
	e.findings = append(e.findings, f)
	e.mu.Unlock()
	e.emit(progress.Event{Type: progress.Finding, Severity: string(f.Severity), Code: f.Code, Host: f.Host, Message: f.Message, Fix: f.Fix})
}

func (e *engine) errorFindings() []Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Finding
	for _, f := range e.findings {
		if f.Severity == SevError {
			out = append(out, f)
		}
	}
	return out
}

func (e *engine) hostResult(ph PhaseName, host, status string, d time.Duration, msg string, err error) {
	e.hostResultTimed(ph, host, status, e.clk.Now().Add(-d), d, nil, msg, err)
}

// hostResultTimed records host's step of ph, started at t0 and lasting d.
func (e *engine) hostResultTimed(ph PhaseName, host, status string, t0 time.Time, d time.Duration, agent map[string]float64, msg string, err error) {
	e.mu.Lock()
	e.hostSteps[host] = append(e.hostSteps[host], StepResult{Phase: string(ph), Status: status, Started: t0.UTC(), Duration: d.Seconds(), Agent: agent, Error: e.red.err(err)})
	e.mu.Unlock()
	e.emit(progress.Event{Type: progress.HostResult, Phase: string(ph), Host: host, Status: status, Message: msg, Error: e.red.err(err), Duration: d.Seconds(), Agent: agent})
}

// agentTimed is implemented by nodes whose agent reports its own duration
// of each operation (summed per operation since the node was connected).
type agentTimed interface {
	AgentTimes() map[string]time.Duration
}

// agentTimes snapshots the agent's times of an already connected host
// (nil when unknown).
func (e *engine) agentTimes(host string) map[string]time.Duration {
	e.mu.Lock()
	n, ok := e.nodes[host]
	e.mu.Unlock()
	if at, ok2 := n.(agentTimed); ok && ok2 {
		return at.AgentTimes()
	}
	return nil
}

// agentDelta is what the agent spent between two snapshots, in seconds.
func agentDelta(before, after map[string]time.Duration) map[string]float64 {
	var out map[string]float64
	for op, d := range after {
		if dd := d - before[op]; dd > 0 {
			if out == nil {
				out = map[string]float64{}
			}
			out[op] = dd.Seconds()
		}
	}
	return out
}

// ---- connections ----

func (e *engine) node(ctx context.Context, name string) (Node, error) {
	e.mu.Lock()
	n, ok := e.nodes[name]
	e.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := e.conn.Node(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, transientConnect(err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.nodes[name]; ok {
		n.Close()
		return prev, nil
	}
	e.nodes[name] = n
	return n, nil
}

func (e *engine) database(ctx context.Context) (Database, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db != nil {
		return e.db, nil
	}
	db, err := e.conn.Database(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to database tools host %s: %w", e.spec.ToolsHost, transientConnect(err))
	}
	e.db = db
	return db, nil
}

func (e *engine) fleetLocker(ctx context.Context) (Locker, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.locker != nil {
		return e.locker, nil
	}
	l, err := e.conn.Locker(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to fleet lock: %w", err)
	}
	e.locker = l
	return l, nil
}

func (e *engine) close() {
	e.flushRuns()
	e.stopHeartbeat()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.nodes {
		n.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.j != nil {
		e.j.Close()
	}
}

// ---- steps ----

// step runs fn once per run: a step recorded done in the journal (by an
// earlier attempt of this run) is skipped. Its start, end and data are
// journaled (fsync'd) around fn.
func (e *engine) step(ctx context.Context, ph PhaseName, key, host string, fn func(ctx context.Context) (any, error)) error {
	if e.prior.Done(key) {
		e.hostResult(ph, host, "skipped", 0, "done before resume", nil)
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
			e.hostResultTimed(ph, host, "failed", t0, d, agent, "", err)
		}
		return err
	}
	if err := e.journalStep(ph, key, host, journal.Done, data, nil); err != nil {
		return err
	}
	if host != "" {
		e.hostResultTimed(ph, host, "ok", t0, d, agent, "", nil)
	}
	return nil
}

func (e *engine) journalStep(ph PhaseName, key, host string, st journal.Status, data any, err error) error {
	if e.j == nil {
		return nil
	}
	if err != nil {
		err = errors.New(e.red.err(err))
	}
	return e.j.Step(string(ph), key, host, st, data, err)
}

// stepStarted reports whether key was ever started in this run (any
// attempt).
func (e *engine) stepStarted(key string) bool {
	if e.j == nil {
		return false
	}
	return e.j.State().Status(key) != ""
}

// softStopped reports whether the operator's soft interrupt came while
// the run goes forward (a rollback ignores it).
func (e *engine) softStopped() bool {
	e.mu.Lock()
	rb := e.rollingBack
	e.mu.Unlock()
	return !rb && closed(e.intr)
}

// forEach runs fn for every host with at most limit at once. One host's
// failure does not cancel the others; errors are joined.
func (e *engine) forEach(ctx context.Context, hosts []string, limit int, fn func(ctx context.Context, host string) error) error {
	limit = e.spec.limit(limit)
	if limit <= 0 {
		limit = 16
	}
	errs := fanout.Each(ctx, hosts, limit, fn)
	for i, err := range errs {
		if errors.Is(err, fanout.ErrNotStarted) {
			errs[i] = fmt.Errorf("%s: %w", hosts[i], err)
		}
	}
	return errors.Join(errs...)
}

// ---- the runner ----

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
	e.emit(progress.Event{Type: progress.PhaseStart, Phase: string(p.name()), Total: e.phaseTotal(p.name())})
	err := runBounded(ctx, p.name(), e.spec.phaseTimeout(p.name()), func(ctx context.Context) error { return p.run(ctx, e) })
	pr := PhaseResult{Phase: string(p.name()), Started: t0, Finished: e.clk.Now(), Status: "ok"}
	if err != nil {
		pr.Status, pr.Error = "failed", e.red.err(err)
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
	e.emit(progress.Event{Type: progress.PhaseEnd, Phase: pr.Phase, Status: pr.Status, Error: pr.Error, Duration: pr.Finished.Sub(pr.Started).Seconds()})
	e.recordRun(ctx, pr.Phase, pr.Status)
}

func (e *engine) phaseTotal(p PhaseName) int {
	switch p {
	case PhasePreflight:
		return len(e.allHosts())
	case PhaseStop:
		return len(e.spec.Nodes)
	case PhaseInstall, PhaseStart, PhaseVerify, PhasePrepare:
		return len(e.spec.targets())
	case PhaseMigrateUp, PhaseMigrateFinish:
		return 1
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

// rollback undoes the started phases in reverse order. It stops at the
// first undo that fails: starting X on a database that could not be
// restored would be worse than stopping.
func (e *engine) rollback(ctx context.Context) error {
	e.mu.Lock()
	started := slices.Clone(e.started)
	// A rollback under way completes on a soft interrupt.
	e.rollingBack = true
	e.mu.Unlock()
	e.note("rolling back %d phase(s)", len(started))
	return runBounded(ctx, "rollback", e.spec.Timeouts.Rollback, func(ctx context.Context) error { return e.undoAll(ctx, started) })
}

// undoAll undoes the started phases in reverse order (rollback).
func (e *engine) undoAll(ctx context.Context, started []phase) error {
	for i := len(started) - 1; i >= 0; i-- {
		u, ok := started[i].(undoer)
		if !ok {
			continue
		}
		name := "rollback-" + string(started[i].name())
		t0 := e.clk.Now()
		e.emit(progress.Event{Type: progress.PhaseStart, Phase: name, Total: e.phaseTotal(started[i].name())})
		err := u.undo(ctx, e)
		pr := PhaseResult{Phase: name, Started: t0, Finished: e.clk.Now(), Status: "rolled-back"}
		if err != nil {
			pr.Status, pr.Error = "failed", e.red.err(err)
		}
		e.mu.Lock()
		e.timeline = append(e.timeline, pr)
		e.mu.Unlock()
		e.emit(progress.Event{Type: progress.PhaseEnd, Phase: name, Status: pr.Status, Error: pr.Error, Duration: pr.Finished.Sub(t0).Seconds()})
		if err != nil {
			return fmt.Errorf("rollback of %s: %w", started[i].name(), err)
		}
	}
	return nil
}

// ---- lock heartbeat ----

func (e *engine) startHeartbeat(l Locker, info LockInfo) {
	ttl := e.spec.Timeouts.FleetLockTTL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.mu.Lock()
	e.hbCancel, e.hbDone = cancel, done
	e.mu.Unlock()
	// Owned by the engine; joined by stopHeartbeat.
	go func() {
		defer close(done)
		for {
			// Real time, not the injected clock: the heartbeat paces a
			// lock TTL measured by the database's clock.
			if err := (realClock{}).Sleep(ctx, ttl/3); err != nil {
				return
			}
			if err := l.Heartbeat(ctx, info); err != nil && ctx.Err() == nil {
				e.note("fleet lock heartbeat failed: %s", e.red.err(err))
			}
		}
	}()
}

func (e *engine) stopHeartbeat() {
	e.mu.Lock()
	cancel, done := e.hbCancel, e.hbDone
	e.hbCancel, e.hbDone = nil, nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (e *engine) recordRun(ctx context.Context, ph, status string) {
	e.mu.Lock()
	l, held := e.locker, e.lock != nil
	if l == nil || !held || ctx.Err() != nil {
		e.mu.Unlock()
		return
	}
	// The summary row is for `kongctl status`; the journal is the record.
	// One background writer keeps it at the latest state (coalesced), so a
	// database round trip never sits between two phases of the downtime.
	e.recPending = &RunRecord{RunID: e.runID, From: e.pf.From, To: e.spec.To, Phase: ph, Status: status, Updated: e.clk.Now()}
	if e.recBusy {
		e.mu.Unlock()
		return
	}
	e.recBusy = true
	e.recWG.Add(1)
	e.mu.Unlock()
	wctx := context.WithoutCancel(ctx)
	go func() {
		defer e.recWG.Done()
		for {
			e.mu.Lock()
			r := e.recPending
			e.recPending = nil
			if r == nil {
				e.recBusy = false
				e.mu.Unlock()
				return
			}
			e.mu.Unlock()
			rctx, cancel := context.WithTimeout(wctx, 30*time.Second)
			if err := l.RecordRun(rctx, *r); err != nil {
				e.note("record run summary in the database: %s", e.red.err(err))
			}
			cancel()
		}
	}()
}

// flushRuns waits until the run summary row holds the latest state.
func (e *engine) flushRuns() { e.recWG.Wait() }

// ---- versions ----

// toVersion is Y, parsed once by Spec.validate.
func (e *engine) toVersion() kongver.Version { return e.spec.to }

// fromVersion is X as the nodes report it (preflight), else upgrade.from;
// the zero Version when neither is known.
func (e *engine) fromVersion() kongver.Version {
	v, err := kongver.ParseReported(e.pf.From)
	if err != nil {
		return e.spec.from
	}
	return v
}

// sameVersion compares a reported version ("3.4.2", "Kong Enterprise
// 3.4.3.5") with a wanted one, by kongver's rule (3.4.2 is 3.4.2.0).
func sameVersion(got, want string) bool {
	g, err1 := kongver.ParseReported(got)
	w, err2 := kongver.ParseReported(want)
	if err1 != nil || err2 != nil {
		return got == want
	}
	return g.Equal(w)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
