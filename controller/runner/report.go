package runner

import (
	"cmp"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// Outcome is how a run ended. The CLI maps it to an exit code.
type Outcome string

const (
	Succeeded  Outcome = "succeeded"
	RolledBack Outcome = "rolled-back"
	Paused     Outcome = "paused"
	Failed     Outcome = "failed"
)

// Severity of a finding.
type Severity string

const (
	SevError   Severity = "error"   // blocks the upgrade
	SevWarning Severity = "warning" // reported, does not block
	SevInfo    Severity = "info"
)

// Result is how a phase, a host's step or a host ended.
type Result string

// The results.
const (
	ResultOK             Result = "ok"
	ResultFailed         Result = "failed"
	ResultSkipped        Result = "skipped"     // a step done before a resume
	ResultRolledBack     Result = "rolled-back" // undone (phase), back on X (host)
	ResultDecommissioned Result = "decommissioned"
	ResultUntouched      Result = "untouched" // a host no step changed
)

// Finding is one thing preflight (or the run) found.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Host     string   `json:"host,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

// PhaseResult is one line of the timeline.
type PhaseResult struct {
	Phase    string    `json:"phase"`
	Status   Result    `json:"status"` // ok, failed, rolled-back
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Error    string    `json:"error,omitempty"`
}

// StepResult is one host's part of a phase.
type StepResult struct {
	Phase  string `json:"phase"`
	Status Result `json:"status"` // ok, failed, skipped
	// Started is when the step started (with Duration, its span on a
	// timeline).
	Started  time.Time `json:"started,omitzero"`
	Duration float64   `json:"duration_seconds"`
	// Agent is the time the node's agent itself spent on the step, per
	// operation ("service.stop", "package.install", "migrations.up"...),
	// as the agent timed it (no SSH round trips). Absent when the node
	// does not report it.
	Agent map[string]float64 `json:"agent_seconds,omitempty"`
	Error string             `json:"error,omitempty"`
}

// HostReport is one host's result.
type HostReport struct {
	Name        string       `json:"name"`
	Roles       []string     `json:"roles,omitempty"`
	FromVersion string       `json:"from_version,omitempty"`
	Version     string       `json:"version,omitempty"` // at the end of the run
	Result      Result       `json:"result"`            // ok, failed, rolled-back, decommissioned, untouched
	Steps       []StepResult `json:"steps,omitempty"`
}

// Window is the measured downtime window: Start is the first stop, End
// the moment the last node was healthy again (all nodes serving).
type Window struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"duration_seconds"`
	// AllStopped is when the last node was verified down, FirstServing
	// when the first node was healthy again (FirstServingAfter seconds
	// after Start). FleetDown is the time in between, when no node served.
	AllStopped        time.Time `json:"all_stopped,omitzero"`
	FirstServing      time.Time `json:"first_serving,omitzero"`
	FirstServingAfter float64   `json:"first_serving_after_seconds"`
	FleetDown         float64   `json:"fleet_down_seconds"`
}

// Report is the result of Upgrade or Rollback.
type Report struct {
	RunID         string        `json:"run_id"`
	Operation     string        `json:"operation"` // upgrade | rollback
	Outcome       Outcome       `json:"outcome"`
	From          string        `json:"from"`
	To            string        `json:"to"`
	MigrationHost string        `json:"migration_host,omitempty"`
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	Timeline      []PhaseResult `json:"timeline"`
	Hosts         []HostReport  `json:"hosts"`
	Downtime      *Window       `json:"downtime,omitempty"`
	// Hops are the hops of an upgrade that ran several in one window
	// (the last one to Y), each with its migrations and times.
	Hops []HopReport `json:"hops,omitempty"`
	// Order says how the window ran: the stop mode and where `kong
	// migrations finish` ran.
	Order  string            `json:"order,omitempty"`
	Backup *fleet.BackupInfo `json:"backup,omitempty"`
	// Rehearsal is the rehearsal's figures (rehearsal.go), beside the
	// real run's in Timeline.
	Rehearsal *RehearsalResult `json:"rehearsal,omitempty"`
	// BackupsPruned are older runs' backups deleted by backup retention.
	BackupsPruned   []string  `json:"backups_pruned,omitempty"`
	PointOfNoReturn bool      `json:"point_of_no_return_passed"`
	Findings        []Finding `json:"findings,omitempty"`
	// Gates are the verify phase's metric gates, each with its threshold
	// and measured value.
	Gates         []GateResult `json:"gates,omitempty"`
	Error         string       `json:"error,omitempty"`
	RollbackError string       `json:"rollback_error,omitempty"`
	// Next is the exact command to run next (paused, failed), if any.
	Next    string `json:"next,omitempty"`
	Journal string `json:"journal,omitempty"`
	// Transport is what reaching the hosts cost (SSH sessions, agent
	// processes, agent bytes), when the connector accounts it.
	Transport *fleet.Transport `json:"transport,omitempty"`
}

// dash shows an unknown value (a version not read) as "-".
func dash(s string) string { return cmp.Or(s, "-") }
