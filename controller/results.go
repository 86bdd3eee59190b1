package controller

import "github.com/kongctl/kongctl/controller/runner"

// The results of the entry points and what they carry, defined by the
// runner (controller/runner).
type (
	Spec         = runner.Spec
	Report       = runner.Report
	UpgradePlan  = runner.UpgradePlan
	StatusReport = runner.StatusReport
	Outcome      = runner.Outcome
	Severity     = runner.Severity
	Finding      = runner.Finding
	PhaseResult  = runner.PhaseResult
	StepResult   = runner.StepResult
	HostReport   = runner.HostReport
	Window       = runner.Window
	GateResult   = runner.GateResult
	PlanPath     = runner.PlanPath
	PlanHost     = runner.PlanHost
	PlanPhase    = runner.PlanPhase
	PlanWindow   = runner.PlanWindow
	PlanHop      = runner.PlanHop
	HopReport    = runner.HopReport
	HostStatus   = runner.HostStatus
	RunSummary   = runner.RunSummary
)

// How a run ended (Report.Outcome).
const (
	Succeeded  = runner.Succeeded
	RolledBack = runner.RolledBack
	Paused     = runner.Paused
	Failed     = runner.Failed
)

// The severities of a finding.
const (
	SevError   = runner.SevError
	SevWarning = runner.SevWarning
	SevInfo    = runner.SevInfo
)

// OnFailure is what a failed upgrade does (Options.OnFailure).
type OnFailure = runner.OnFailure

// Result is how a phase, a host's step or a host ended.
type Result = runner.Result

// PhaseName names a phase of the upgrade; the phases the report's views
// tell apart.
type PhaseName = runner.PhaseName

// The phases, in the order they run.
const (
	PhasePreflight     = runner.PhasePreflight
	PhaseLock          = runner.PhaseLock
	PhaseBackup        = runner.PhaseBackup
	PhaseRehearsal     = runner.PhaseRehearsal
	PhasePrepare       = runner.PhasePrepare
	PhaseBeforeStop    = runner.PhaseBeforeStop
	PhaseStop          = runner.PhaseStop
	PhaseBackupCheck   = runner.PhaseBackupCheck
	PhaseAfterStop     = runner.PhaseAfterStop
	PhaseHops          = runner.PhaseHops
	PhaseInstall       = runner.PhaseInstall
	PhaseMigrateUp     = runner.PhaseMigrateUp
	PhaseMigrateFinish = runner.PhaseMigrateFinish
	PhaseStart         = runner.PhaseStart
	PhaseAfterStart    = runner.PhaseAfterStart
	PhaseVerify        = runner.PhaseVerify
	PhaseDecommission  = runner.PhaseDecommission
	PhaseCleanup       = runner.PhaseCleanup
)

// MigrationTimeouts are the --db-timeout and --lock-timeout the
// migrations run with, and where they come from (UpgradePlan).
type MigrationTimeouts = runner.MigrationTimeouts

// RehearsalResult is what the rehearsal on the rehearsal host measured
// (UpgradePlan, Report).
type RehearsalResult = runner.RehearsalResult
