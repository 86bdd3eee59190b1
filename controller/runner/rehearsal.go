package runner

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/progress"
)

// PhaseRehearsal rehearses Y's migrations on a scratch copy of the
// database, after the backup and before any stop (issue 23).
const PhaseRehearsal PhaseName = "rehearsal"

// rehearsalStep journals the rehearsal and its figures.
const rehearsalStep StepKey = "rehearsal"

// RehearsalResult is what the rehearsal on the rehearsal host measured.
type RehearsalResult struct {
	Host    string `json:"host"`
	Scratch string `json:"scratch_database"`
	// Up and Finish are how long `kong migrations up` and `finish` took on
	// the scratch copy; Start until Y answered healthy.
	Up     float64 `json:"up_seconds"`
	Finish float64 `json:"finish_seconds"`
	Start  float64 `json:"start_seconds,omitempty"`
	// Smoke is the number of smoke requests Y answered as expected;
	// Requests and Errors its /metrics counters after them.
	Smoke    int     `json:"smoke,omitempty"`
	Requests float64 `json:"requests,omitempty"`
	Errors   float64 `json:"errors,omitempty"`
	// Failed is the step that failed ("" passed) and Error what it said,
	// with Kong's own output from the rehearsal host.
	Failed string `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
	// Dropped is true once the scratch database is gone.
	Dropped bool `json:"dropped"`
}

// Passed reports whether every step of the rehearsal passed.
func (r *RehearsalResult) Passed() bool { return r != nil && r.Failed == "" }

// rehearsalPhase runs the rehearsal on the run's fresh backup. A copy a
// killed controller left behind is dropped first (on resume), also when the
// rehearsal itself was done before.
type rehearsalPhase struct{}

func (rehearsalPhase) name() PhaseName { return PhaseRehearsal }

func (rehearsalPhase) run(ctx context.Context, e *engine) error {
	if e.pf.Rehearsal == "" {
		return nil
	}
	if err := e.dropScratch(ctx, scratchName(e.runID)); err != nil {
		return err
	}
	if stepDone(e.prior, rehearsalStep) {
		var r RehearsalResult
		if stepData(e.prior, rehearsalStep, &r) {
			e.useRehearsal(&r)
		}
		e.note("rehearsal done before resume")
		return nil
	}
	if e.backup == nil {
		return fmt.Errorf("rehearsal on %s: no verified backup of this run to restore", e.spec.Rehearsal)
	}
	return e.step(ctx, PhaseRehearsal, rehearsalStep, e.spec.Rehearsal, func(ctx context.Context) (any, error) {
		r, err := e.rehearse(ctx, *e.backup)
		e.useRehearsal(r)
		return r, err
	})
}

// scratchName is the rehearsal's scratch database of run runID:
// recognisable (agentproto.RehearsalPrefix) and unique per run.
func scratchName(runID string) string {
	id := strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToLower(runID))
	return agentproto.RehearsalPrefix + id
}

// dropScratch drops the named scratch database if it exists (a no-op
// without one), noting it when there was one.
func (e *engine) dropScratch(ctx context.Context, name string) error {
	db, err := e.database(ctx)
	if err != nil {
		return err
	}
	dropped, err := dropScratchOf(ctx, db, name)
	if err != nil {
		return fmt.Errorf("drop scratch database %s via %s: %w", name, e.spec.ToolsHost, err)
	}
	for _, d := range dropped {
		e.note("dropped the scratch database %s a rehearsal left behind", d)
	}
	return nil
}

// dropRunScratch drops the scratch database a dead run's rehearsal left
// behind (kongctl unlock), saying so when there was one.
func dropRunScratch(ctx context.Context, conn fleet.Connector, runID string, sink progress.Sink) error {
	db, err := conn.Database(ctx)
	if err != nil {
		return fmt.Errorf("connect to the database tools host to drop run %s's scratch database: %w", runID, err)
	}
	name := scratchName(runID)
	dropped, err := dropScratchOf(ctx, db, name)
	if err != nil {
		return fmt.Errorf("drop scratch database %s of run %s: %w", name, runID, err)
	}
	for _, d := range dropped {
		sink.Emit(progress.Event{Type: progress.Message, Message: "dropped the scratch database " + d + " the run's rehearsal left behind"})
	}
	return nil
}

// dropScratchOf drops the named scratch database of db if it exists and
// returns what it dropped: nothing when db keeps no scratch databases
// (it is no fleet.ScratchDB).
func dropScratchOf(ctx context.Context, db fleet.Database, name string) ([]string, error) {
	sdb, ok := db.(fleet.ScratchDB)
	if !ok {
		return nil, nil
	}
	return sdb.DropScratch(ctx, []string{name}, false)
}

// rehearse restores b into the run's scratch database, installs Y (and
// the custom plugin packages, plugins.go) on the rehearsal host with the fleet's kong.conf and service environment
// pointed at the copy (withFleetEnv), runs and
// times `kong migrations up` and `finish` there, starts Y, sends the smoke
// requests through it and reads its metrics, stops it and drops the copy
// on every path. X's fleet and database are not touched.
func (e *engine) rehearse(ctx context.Context, b fleet.BackupInfo) (r *RehearsalResult, err error) {
	h := e.spec.Rehearsal
	r = &RehearsalResult{Host: h, Scratch: scratchName(e.runID)}
	fail := func(step string, err error) (*RehearsalResult, error) {
		r.Failed, r.Error = step, e.red.err(err)
		return r, fmt.Errorf("rehearsal of %s on %s failed (%s): %w", e.spec.To, h, step, err)
	}
	db, err := e.database(ctx)
	if err != nil {
		return fail("restore", err)
	}
	sdb, ok := db.(fleet.ScratchDB)
	if !ok {
		return fail("restore", fmt.Errorf("the database adapter keeps no scratch copy"))
	}
	// Dropped on every path, also when ctx is cancelled. DROP DATABASE
	// waits for a checkpoint, which a busy server may take minutes over.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scratchDropTimeout)
		defer cancel()
		if _, derr := sdb.DropScratch(dctx, []string{r.Scratch}, false); derr != nil {
			e.find(Finding{Severity: SevWarning, Code: "rehearsal-scratch", Host: e.spec.ToolsHost,
				Message: fmt.Sprintf("drop the scratch database %s: %v; `kongctl unlock` or the next run drops it", r.Scratch, e.red.err(derr))})
			return
		}
		r.Dropped = true
	}()
	e.note("rehearsal: restoring the backup into the scratch database %s", r.Scratch)
	if err := sdb.RestoreScratch(ctx, b, r.Scratch); err != nil {
		return fail("restore", err)
	}
	n, err := e.node(ctx, h)
	if err != nil {
		return fail("connect", err)
	}
	if err := e.install(ctx, h, e.pf.PkgY[h], e.spec.To); err != nil {
		return fail("install", err)
	}
	if err := e.installRehearsalPlugins(ctx, n); err != nil {
		return fail("install", err)
	}
	src, err := e.node(ctx, e.spec.Nodes[0])
	if err != nil {
		return fail("kong.conf", err)
	}
	conf, err := src.ReadConf(ctx)
	if err != nil {
		return fail("kong.conf", fmt.Errorf("read kong.conf on %s: %w", e.spec.Nodes[0], err))
	}
	if err := n.WriteConf(ctx, confWithDatabase(conf, r.Scratch)); err != nil {
		return fail("kong.conf", fmt.Errorf("write kong.conf on %s: %w", h, err))
	}
	defer e.removeRehearsalConf(ctx, n)
	env, _, err := e.sourceEnv(ctx)
	if err != nil {
		return fail("environment", err)
	}
	listed, err := e.copyConfFiles(ctx, conf, env.Vars) // rehearsal_files.go
	defer e.removeCopiedFiles(ctx, listed)
	if err != nil {
		return fail("files", err)
	}
	if n, err = e.withFleetEnv(ctx, n, r.Scratch); err != nil {
		return fail("environment", err)
	}
	for _, cmd := range []string{"up", "finish"} {
		t0 := e.clk.Now()
		if err := e.rehearseMigrations(ctx, n, cmd); err != nil {
			return fail("migrations "+cmd, err)
		}
		d := tenths(e.clk.Now().Sub(t0))
		if cmd == "up" {
			r.Up = d
		} else {
			r.Finish = d
		}
		e.note("rehearsal: kong migrations %s on %s took %.1fs", cmd, h, d)
	}
	t0 := e.clk.Now()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.spec.Timeouts.Stop+30*time.Second)
		defer cancel()
		if serr := n.Stop(sctx, e.spec.Timeouts.Stop); serr != nil && err == nil {
			_, err = fail("stop", fmt.Errorf("stop kong %s on %s: %w", e.spec.To, h, serr))
		}
	}()
	if err := e.startNodeAndWait(ctx, n, h, e.spec.To); err != nil {
		return fail("start", err)
	}
	r.Start = tenths(e.clk.Now().Sub(t0))
	for _, s := range e.spec.Verify.Smoke {
		if err := e.rehearsalSmoke(ctx, n, s); err != nil {
			return fail("smoke", err)
		}
		r.Smoke++
	}
	m, err := n.Metrics(ctx)
	if err != nil {
		return fail("metrics", fmt.Errorf("read /metrics on %s: %w", h, err))
	}
	r.Requests, r.Errors = m.Requests, m.Errors
	return r, nil
}

// rehearsalSmoke sends smoke request s through the rehearsal host until
// it answers as expected, for up to the health timeout: Kong builds its
// router after it reports healthy (a simulator over 200000 rows answered
// 404 "no Route matched" at first). A failure past that is the last one.
func (e *engine) rehearsalSmoke(ctx context.Context, n fleet.Node, s SmokeSpec) error {
	deadline := e.clk.Now().Add(e.spec.Timeouts.Health)
	for {
		err := smokeRequest(ctx, n, e.spec.Rehearsal, s)
		if err == nil || !e.clk.Now().Before(deadline) {
			return err
		}
		if serr := e.clk.Sleep(ctx, 500*time.Millisecond); serr != nil {
			return err
		}
	}
}

// tenths is d in seconds, to a tenth.
func tenths(d time.Duration) float64 { return math.Round(d.Seconds()*10) / 10 }

// rehearseMigrations runs `kong migrations <cmd>` on the rehearsal host
// with the run's migration timeouts; a failure carries Kong's output. The
// step id is new on every attempt: a resumed run never re-attaches to the
// step a killed controller left on a copy since dropped.
func (e *engine) rehearseMigrations(ctx context.Context, n fleet.Node, cmd string) error {
	h := e.spec.Rehearsal
	dbTimeout, lockTimeout := e.migrationTimeouts()
	st, err := n.Migrations(ctx, fleet.MigrationsRequest{Command: cmd, StepID: fmt.Sprintf("%s-rehearsal-%s-%d", e.runID, cmd, e.clk.Now().Unix()),
		DBTimeout: dbTimeout, LockTimeout: lockTimeout, StepTimeout: e.spec.Timeouts.Migrations})
	if err != nil {
		return fmt.Errorf("kong migrations %s on %s: %w", cmd, h, err)
	}
	if st.ExitCode != 0 {
		return fmt.Errorf("kong migrations %s on %s exited %d: %s", cmd, h, st.ExitCode, kongOutput(st.Output))
	}
	if st.Aborted {
		return fmt.Errorf("kong migrations %s on %s aborted: another node holds Kong's migrations lock on the scratch copy", cmd, h)
	}
	return nil
}

// kongOutput is Kong's output for an error: trimmed, at most 2000 bytes
// (its end, where Kong says what failed).
func kongOutput(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "no output"
	}
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// confWithDatabase is kong.conf with pg_database set to db: the line
// replaced where it is set, else appended.
func confWithDatabase(conf []byte, db string) []byte {
	return confWithSetting(conf, "pg_database", db)
}

// confWithSetting is kong.conf with key set to val: each line setting it
// replaced, else one appended. A # in val is escaped (\#): Kong reads an
// unescaped one as the start of a comment.
func confWithSetting(conf []byte, key, val string) []byte {
	re := regexp.MustCompile(`(?m)^[ \t]*` + regexp.QuoteMeta(key) + `[ \t]*=.*$`)
	line := []byte(key + " = " + strings.ReplaceAll(val, "#", `\#`))
	if re.Match(conf) {
		return re.ReplaceAllLiteral(conf, line)
	}
	out := bytes.Clone(conf)
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return append(append(out, line...), '\n')
}

// useRehearsal keeps the rehearsal's figures for the report and the plan,
// and sizes the real run's migration timeouts from a passed one.
func (e *engine) useRehearsal(r *RehearsalResult) {
	e.mu.Lock()
	e.rehearsal = r
	e.mu.Unlock()
	if r.Passed() {
		e.sizeFromRehearsal(r)
	}
}

// scratchDropTimeout bounds dropping the scratch copy after the rehearsal.
const scratchDropTimeout = 5 * time.Minute

// rehearsalFactor is how many times the rehearsed migration time the real
// run's migration timeouts allow at least.
const rehearsalFactor = 3

// sizeFromRehearsal raises the migrations step timeout and Kong's
// --db-timeout to rehearsalFactor times the longest rehearsed command,
// never lowering them (an inventory's db_timeout stays as set).
func (e *engine) sizeFromRehearsal(r *RehearsalResult) {
	longest := time.Duration(max(r.Up, r.Finish) * float64(time.Second))
	want := rehearsalFactor * longest
	if want > e.spec.Timeouts.Migrations {
		e.spec.Timeouts.Migrations = want
	}
	if mt := e.pf.MigTimeouts; mt != nil {
		mt.Rehearsed = SecondsOf(longest)
		if mt.DBSource != "inventory" && SecondsOf(want) > mt.DBTimeout {
			mt.DBTimeout, mt.DBSource = SecondsOf(want), "rehearsal"
		}
	}
}
