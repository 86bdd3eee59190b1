package faults

import (
	"fmt"
	"time"
)

// The rows of the second round (issue #20): the controller interrupted by
// the operator, PostgreSQL restarted under a migration, hooks that fail,
// hang or flood, and the tools host rebooted mid-backup.
const (
	FaultSIGINT      Fault = "controller-sigint"       // kongctl gets SIGINT once (Ctrl-C), then the printed command is run
	FaultSIGTERM     Fault = "controller-sigterm"      // kongctl gets SIGTERM once, then the printed command is run
	FaultSIGINTTwice Fault = "controller-sigint-twice" // kongctl gets SIGINT twice (Ctrl-C, Ctrl-C), then the printed command is run
	FaultDBRestart   Fault = "db-restart"              // PostgreSQL restarted (pg_ctl restart) while kong migrations holds its lock
	FaultHookFail    Fault = "hook-fail"               // a hook exits 1
	FaultHookHang    Fault = "hook-hang"               // a hook sleeps past its timeout
	FaultHookFlood   Fault = "hook-flood"              // a hook prints 50 MB, then exits 1
	FaultToolsReboot Fault = "tools-host-reboot"       // the tools host loses power mid-pg_dump, then boots
)

// HookFault is the hook a hook cell adds to the cell's inventory.
type HookFault struct {
	Event   string // before_stop, after_start, on_rollback
	PerNode bool
	Command string
	Timeout time.Duration // 0 = the inventory's hook timeout
}

const (
	// hookTimeout bounds the hanging hook.
	hookTimeout = 5 * time.Second
	// hookFloodBytes is what the flooding hook prints on its stdout.
	hookFloodBytes = 50 << 20
	// maxRSSBytes is the bar for kongctl's peak RSS in the hook-flood
	// cells (the bar for a 1 GiB reply).
	maxRSSBytes = 200 << 20
	// maxJournalBytes bounds a hook cell's journal: a hook's output is kept
	// as tails of a few KiB, never whole.
	maxJournalBytes = 1 << 20
)

// moreCell fills in the cells of the second round's rows on c, whose
// phase-dependent defaults (host, trigger, armed slow migrations) cell set.
func moreCell(c Cell) Cell {
	p := c.Phase
	switch c.Fault {
	case FaultSIGINTTwice:
		// The second Ctrl-C stops the waiting: kongctl exits at once
		// (exit 4: paused, or 1 before anything changed), never killing
		// a package manager or a migration on a node; a rollback under
		// way is cut off too (exit 1: the rollback did not finish, the
		// fleet lock kept) and the printed `kongctl rollback` completes
		// it, or it had finished first (exit 3).
		c.Host, c.Hold = "", 0
		switch p {
		case PhasePreflight, PhaseBackup:
			c.WantFirst = []int{1, 4}
		case PhaseRollback:
			c.WantFirst = []int{1, 3}
		default:
			c.WantFirst = []int{4}
		}
	case FaultSIGINT, FaultSIGTERM:
		c.Host, c.Hold = "", 0
		switch p {
		case PhasePreflight, PhaseBackup:
			// Nothing has changed yet: the run stops at once (preflight)
			// or after the backup, releases its lock and exits 1.
			c.WantFirst = []int{1}
		case PhaseRollback:
			// A rollback under way completes.
			c.WantFirst = []int{3}
		default:
			// The running steps finish, then the run pauses.
			c.WantFirst = []int{4}
		}
	case FaultDBRestart:
		c.Host = dbHost
		switch p {
		case PhaseMigrateUp, PhaseMigrateFinish:
			// cell's trigger: once kong migrations holds its lock.
		default:
			c.NA = fmt.Sprintf("a restart is only distinct from the db-unreachable row while Kong's migrations lock is held, which it never is during %s", p)
		}
	case FaultHookFail, FaultHookHang, FaultHookFlood:
		c.Host, c.Trigger, c.Hold = bastionHost, Trigger{}, 0
		h := &HookFault{Command: hookCommand(c.Fault)}
		if c.Fault == FaultHookHang {
			h.Timeout = hookTimeout
		}
		// On the rollback, a hook's failure only warns: the rollback
		// goes on and exits 3 like the forward phases' failures do.
		c.WantFirst = []int{3}
		switch p {
		case PhaseStop:
			h.Event, h.PerNode = "before_stop", true // right before each node stops, inside the stop
		case PhaseStart:
			h.Event, h.PerNode = "after_start", true // right after each node serves Y, inside the start
		case PhaseRollback:
			h.Event = "on_rollback" // once the rollback has ended
		default:
			c.NA = fmt.Sprintf("no hook runs during %s: per-node before_stop and after_start hooks run inside the stop and the start, on_rollback after the rollback (the whole-fleet before_stop, after_stop and after_start hooks run between phases)", p)
			h = nil
		}
		c.Hook = h
	case FaultToolsReboot:
		c.Host = dbHost
		switch p {
		case PhaseBackup:
			c.Trigger = Trigger{Event: "phase_start", Phase: string(p), Process: "pg_dump"}
			c.Hold = 8 * time.Second
		case PhaseRollback:
			// Mid-restore: pg_restore runs in one transaction, so the
			// crash leaves the database as it was before it; the
			// rollback's restore must ride out the reboot and restore
			// again.
			c.Trigger = Trigger{Event: "phase_start", Phase: "rollback", Process: "pg_restore"}
			c.Hold = 8 * time.Second
		default:
			c.NA = fmt.Sprintf("pg_dump and pg_restore run on the tools host only during the backup and the rollback's restore; the ssh-cut and db-unreachable rows cover the tools host during %s", p)
		}
	}
	return c
}

// hookCommand is the shell command of a hook cell's hook.
func hookCommand(f Fault) string {
	switch f {
	case FaultHookFail:
		return "echo 'kongctl-faults: this hook fails on purpose' >&2; exit 1"
	case FaultHookHang:
		return "sleep " + hangSeconds
	case FaultHookFlood:
		return fmt.Sprintf("yes kongctl-faults-hook-flood | head -c %d; echo 'kongctl-faults: flooded, now failing' >&2; exit 1", hookFloodBytes)
	}
	return ""
}

// hangSeconds is how long the hanging hook sleeps: an odd number, so that
// a hook process left behind is recognised by its command line.
const hangSeconds = "3607"

// bastionHost names where the hooks run (kongctl's own machine).
const bastionHost = "bastion"
