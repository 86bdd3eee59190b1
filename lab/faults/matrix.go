// Package faults runs kongctl's fault matrix on the rehearsal lab: for each
// phase of an upgrade (and the rollback itself) it injects one fault while the
// real bin/kongctl runs, heals the fault, follows the command the run says to
// run next, and checks the fleet ended in one of the three accepted states:
//
//   - upgraded and verified: every node serves Y, the fleet lock is free;
//   - rolled back: the database fingerprint equals the one taken before the
//     run and every node serves X (a run refused before any change counts
//     here too: nothing changed);
//   - paused: the report names the exact command to continue, and that
//     command then ends in one of the two states above.
//
// Faults are injected by watching kongctl's `--output json` events on its
// stdout (a phase_start, a phase_end or the first rollback phase) or by
// pre-arming the Kong simulator's fault file (/usr/local/kong/fault.env).
// Combinations that cannot happen (no migration runs during the stop) are in
// the matrix as "n/a" with the reason, never as a pass.
package faults

import (
	"fmt"
	"time"
)

// Phase is a column of the matrix: a phase of kongctl upgrade, or the
// rollback.
type Phase string

const (
	PhasePreflight     Phase = "preflight"
	PhaseBackup        Phase = "backup"
	PhaseStop          Phase = "stop"
	PhaseInstall       Phase = "install"
	PhaseMigrateUp     Phase = "migrate-up"
	PhaseMigrateFinish Phase = "migrate-finish"
	PhaseStart         Phase = "start"
	PhaseVerify        Phase = "verify"
	PhaseRollback      Phase = "rollback"
)

// Phases in the order of the matrix.
var Phases = []Phase{PhasePreflight, PhaseBackup, PhaseStop, PhaseInstall, PhaseMigrateUp, PhaseMigrateFinish, PhaseStart, PhaseVerify, PhaseRollback}

// Fault is a row of the matrix.
type Fault string

const (
	FaultSSHCut         Fault = "ssh-cut"           // every SSH connection to a host killed, sshd down for a while
	FaultNetworkCut     Fault = "network-cut"       // the host's link down for a while
	FaultKongRefuse     Fault = "kong-refuse-start" // Kong refuses to start on a node
	FaultMigrationFail  Fault = "migration-fail"    // a migration fails
	FaultMigrationCrash Fault = "migration-crash"   // kong crashes mid-migration (exit 137), leaving Kong's lock row
	FaultDBDown         Fault = "db-unreachable"    // PostgreSQL stopped for a while
	FaultDiskFull       Fault = "disk-full"         // a node's (or the db host's backup) file system full
	FaultKill           Fault = "controller-kill"   // kongctl SIGKILLed, then resumed
)

// Faults in the order of the matrix (the second round's rows, in
// matrix_more.go, last).
var Faults = []Fault{FaultSSHCut, FaultNetworkCut, FaultKongRefuse, FaultMigrationFail, FaultMigrationCrash, FaultDBDown, FaultDiskFull, FaultKill,
	FaultSIGINT, FaultSIGTERM, FaultSIGINTTwice, FaultDBRestart, FaultHookFail, FaultHookHang, FaultHookFlood, FaultToolsReboot}

// Outcome is how a cell ended once every command the runs asked for was run.
type Outcome string

const (
	OutUpgraded   Outcome = "upgraded"    // exit 0, every node serves Y
	OutRolledBack Outcome = "rolled-back" // exit 3, fingerprint equal, every node serves X
	OutRefused    Outcome = "refused"     // exit 1 before any change: fingerprint equal, every node serves X
	OutNA         Outcome = "n/a"
	OutBroken     Outcome = "broken" // none of the accepted states
)

// Trigger says when a fault is injected: at an event of the run.
type Trigger struct {
	// Event is "phase_start" or "phase_end"; Phase the kongctl phase name
	// ("rollback" = the first rollback-* phase to start); "" = before the run.
	Event string
	Phase string
	// Delay after the event.
	Delay time.Duration
	// Migrating waits, after the event, until Kong's migrations lock row
	// exists (a `kong migrations up|finish` is running) before the
	// delay: a fixed delay misses the command on a loaded machine. When
	// the phase ends first, the fault is injected then.
	Migrating bool
	// Process waits, after the event, until a process of that name runs
	// on the cell's host (pg_dump on the tools host) before the delay;
	// when the phase ends first, the fault is injected then.
	Process string
}

func (t Trigger) String() string {
	if t.Phase == "" {
		return "before the run"
	}
	s := t.Event + " " + t.Phase
	if t.Migrating {
		s += ", once kong migrations holds its lock"
	}
	if t.Process != "" {
		s += ", once " + t.Process + " runs"
	}
	if t.Delay > 0 {
		s += fmt.Sprintf(" +%s", t.Delay)
	}
	return s
}

// Cell is one phase × fault combination.
type Cell struct {
	Phase Phase
	Fault Fault
	// NA is why the combination cannot happen ("" = it runs).
	NA string
	// Host the fault hits.
	Host string
	// Trigger of the fault.
	Trigger Trigger
	// Hold is how long the fault lasts (0 = until the run ends). Every
	// fault is healed when the run ends, before the next command.
	Hold time.Duration
	// Arm are simulator fault lines written to fault.env on the migration
	// host before the run (slow migrations to widen a window, or the
	// migration failure that starts a rollback for the rollback column).
	Arm []string
	// Line is the simulator fault line the fault writes to Host's
	// fault.env (kong-refuse-start, migration-*).
	Line string
	// ClearOnRollback heals the fault when the first rollback phase starts
	// (Kong refusing to start Y, not X).
	ClearOnRollback bool
	// Quick cells run in `make test`.
	Quick bool
	// WantFirst are the exit codes the first command may end with (nil =
	// any): a signal must pause the run (4), a failing hook roll it back
	// (3).
	WantFirst []int
	// Hook is added to the cell's inventory (hook cells).
	Hook *HookFault
}

// Name is "phase/fault".
func (c Cell) Name() string { return string(c.Phase) + "/" + string(c.Fault) }

const (
	migHost   = "kong-1" // the lab inventory's migration_host
	otherNode = "kong-2"
	dbHost    = "db"

	upMigration       = "017_300_to_310"          // a 3.x core migration pending from 2.8.4
	teardownMigration = "016_280_to_300:teardown" // its teardown runs in finish
	slowMigrations    = "FAKE_KONG_SLOW=0.3"      // ~15 migrations: a window of a few seconds
	failForRollback   = "FAKE_KONG_MIGRATION_FAIL=" + upMigration
)

// Matrix returns every cell, phase-major.
func Matrix() []Cell {
	var cells []Cell
	for _, p := range Phases {
		for _, f := range Faults {
			cells = append(cells, cell(p, f))
		}
	}
	return cells
}

// Lookup returns the cell of a phase and a fault.
func Lookup(p Phase, f Fault) Cell { return cell(p, f) }

// cell defines one combination.
func cell(p Phase, f Fault) Cell {
	c := Cell{Phase: p, Fault: f}
	at := func(ev, ph string, d time.Duration) Trigger { return Trigger{Event: ev, Phase: ph, Delay: d} }
	// Where the phase's work happens, and how to catch it.
	host := otherNode
	trig := at("phase_start", string(p), 0)
	switch p {
	case PhaseBackup:
		host = dbHost // the tools host runs pg_dump
	case PhaseMigrateUp, PhaseMigrateFinish:
		// While `kong migrations up|finish` runs (slowed to widen the
		// window), not during the `list` before it.
		host = migHost
		c.Arm = []string{slowMigrations}
		trig = at("phase_start", string(p), 0)
		if p == PhaseMigrateUp {
			trig.Delay = 300 * time.Millisecond // a migration or two in
		}
		trig.Migrating = true
	case PhaseInstall:
		trig = at("phase_start", string(p), time.Second)
	case PhaseVerify:
		trig = at("phase_start", string(p), time.Second)
	case PhaseRollback:
		c.Arm = []string{failForRollback}
		trig = at("phase_start", "rollback", 0)
	}
	c.Host, c.Trigger = host, trig

	switch f {
	case FaultSSHCut:
		c.Hold = 6 * time.Second
	case FaultNetworkCut:
		c.Hold = 12 * time.Second
	case FaultDBDown:
		c.Host = dbHost
		c.Hold = 8 * time.Second
	case FaultDiskFull:
		c.Hold = 0 // until the operator frees it
		switch p {
		case PhaseBackup:
			c.Host = dbHost // /var/backups
		case PhasePreflight:
			// Full before the run: preflight's disk check must see it
			// (filling at phase_start races the facts it reads).
			c.Trigger = Trigger{}
		}
	case FaultKill:
		c.Host = ""
	case FaultKongRefuse:
		c.Line = "FAKE_KONG_REFUSE_START=1"
		switch p {
		case PhaseStart:
			// Armed before the run: nothing starts Kong before the start
			// phase; Y refuses, the rollback's X starts.
			c.Trigger = Trigger{}
			c.ClearOnRollback = true
		case PhaseRollback:
			// X refuses to start during the rollback.
		default:
			c.NA = fmt.Sprintf("Kong is not started during %s (running nodes are only stopped or probed); the start and rollback cells cover a refused start", p)
		}
	case FaultMigrationFail, FaultMigrationCrash:
		c.Host = migHost
		c.Trigger = Trigger{}
		c.Hold = 0
		switch p {
		case PhaseMigrateUp:
			c.Arm = nil
			if f == FaultMigrationFail {
				c.Line = "FAKE_KONG_MIGRATION_FAIL=" + upMigration
			} else {
				c.Line = "FAKE_KONG_CRASH_AFTER=3"
			}
		case PhaseMigrateFinish:
			c.Arm = nil
			if f == FaultMigrationFail {
				c.Line = "FAKE_KONG_MIGRATION_FAIL=" + teardownMigration
			} else {
				// Armed once up has finished: the crash hits finish.
				c.Line = "FAKE_KONG_CRASH_AFTER=1"
				c.Trigger = at("phase_end", string(PhaseMigrateUp), 0)
			}
		case PhaseRollback:
			c.NA = "the rollback runs no Kong migration (it restores the pg_dump backup); a migration failure is what starts the rollback in this column"
		default:
			c.NA = fmt.Sprintf("no Kong migration runs during %s (only `kong migrations list`, which the migration cells cover)", p)
		}
	}
	c = moreCell(c)
	switch c.Name() {
	case "migrate-up/migration-fail", "start/kong-refuse-start", "install/controller-kill", "stop/network-cut", "backup/db-unreachable":
		c.Quick = true
	}
	return c
}
