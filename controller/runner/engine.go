package runner

import (
	"context"
	"sync"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
)

// engine is the typed run state of one upgrade, rollback or plan. It is
// used by one run; fields below mu are written from host goroutines.
type engine struct {
	spec    *Spec
	conn    fleet.Connector
	clk     clock
	sink    progress.Sink
	red     *redactor
	runID   string
	op      string // upgrade | rollback | plan | status
	j       *journal.Journal
	prior   *journal.State // journal state when the run was (re)opened
	plan    bool           // preflight only: no staging, no side effects
	confirm func(string) bool
	exec    func(context.Context, fleet.ExecRequest) (fleet.ExecResult, error) // bastion hooks (tests)
	yes     bool
	limit   []string
	// intr is the operator's soft interrupt (WithInterrupt): forward steps
	// not yet started are refused once it is closed; undo steps are not.
	intr        <-chan struct{}
	rollingBack bool

	mu        sync.Mutex
	nodes     map[string]fleet.Node
	db        fleet.Database
	lk        lockState // phase_lock.go, heartbeat.go
	pf        preflightData
	backup    *fleet.BackupInfo // the kept backup (every accepted write)
	rehearsal *RehearsalResult  // the rehearsal's figures (rehearsal.go)
	pnr       bool
	rb        rollbackState // restore.go
	findings  []Finding
	verify    verifyState    // phase_verify.go
	retention retentionState // retention.go
	timeline  []PhaseResult
	hostSteps map[string][]StepResult
	started   []phase
	rec       runRecorder    // heartbeat.go
	mig       migrationState // migrations.go
}

// preflightData is what preflight learnt; it is journaled so a resumed run
// does not need the fleet in its pre-upgrade state.
type preflightData struct {
	From        string                      `json:"from"`
	FromEdition string                      `json:"from_edition"`
	To          string                      `json:"to"`
	Facts       map[string]fleet.Facts      `json:"facts"`
	PkgX        map[string]fleet.PackageRef `json:"pkg_x,omitempty"`
	PkgY        map[string]fleet.PackageRef `json:"pkg_y"`
	Baseline    map[string]rateSample       `json:"baseline,omitempty"`
	// Hops are the intermediate hops when Y lies more than one supported
	// jump away (hops.go), in order; none for a single hop.
	Hops []hopPlan `json:"hops,omitempty"`
	// MigTimeouts are the sized migration timeouts (migtimeouts.go).
	MigTimeouts *MigrationTimeouts `json:"mig_timeouts,omitempty"`
	// Keyring is the Enterprise keyring export the run restores
	// (keyring.go); nil when no node runs a cluster keyring.
	Keyring *keyringPlan `json:"keyring,omitempty"`
	// Rehearsal is the host the migrations are rehearsed on ("" none, or
	// skipped: RehearsalSkip says why).
	Rehearsal     string `json:"rehearsal,omitempty"`
	RehearsalSkip string `json:"rehearsal_skip,omitempty"`
	// PluginPkgs are the custom plugin packages the rehearsal host
	// installs (plugins.go), at the migration node's versions.
	PluginPkgs []fleet.PackageRef `json:"plugin_pkgs,omitempty"`
}

type rateSample struct {
	M0, M1 fleet.Metrics
	// Seconds between the two samples (0 in journals of older versions).
	Seconds float64 `json:",omitempty"`
}

func newEngine(spec *Spec, conn fleet.Connector, clk clock, sink progress.Sink, red *redactor) *engine {
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
		nodes:     map[string]fleet.Node{},
		hostSteps: map[string][]StepResult{},
		prior:     journal.Fold(nil),
	}
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
