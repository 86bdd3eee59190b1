package controller

import (
	"context"
	"errors"

	"github.com/kongctl/kongctl/controller/journal"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/controller/runner"
	"github.com/kongctl/kongctl/controller/sshfleet"
	"github.com/kongctl/kongctl/inventory"
)

// Options configure one controller call: see runner.Options. A nil
// Connector is the production one, SSH and the agent built from the
// inventory (sshfleet.NewConnector), closed when the call returns.
type Options = runner.Options

// JSONSchema is the version of kongctl's JSON output, carried as "schema"
// by every event line (the final report included) and every JSON result
// (progress.Schema).
const JSONSchema = progress.Schema

// Plan runs the preflight (nothing is stopped or changed) and returns what
// an upgrade would do.
func Plan(ctx context.Context, o Options) (*UpgradePlan, error) {
	return withFleet(ctx, o, runner.Plan)
}

// Upgrade runs the upgrade (or resumes the latest run with Options.Resume)
// and returns its report. The error is non-nil only when the run could not
// start (bad options, no journal to resume); a failed run is a Report with
// Outcome Failed, RolledBack or Paused.
func Upgrade(ctx context.Context, o Options) (*Report, error) {
	return withFleet(ctx, o, runner.Upgrade)
}

// Rollback undoes the latest run from its journal: restore the database
// when migrations touched it, reinstall X, start X, verify, release the
// lock.
func Rollback(ctx context.Context, o Options) (*Report, error) {
	return withFleet(ctx, o, runner.Rollback)
}

// Status reports versions, running state and schema state across the
// fleet, the fleet lock and the latest run.
func Status(ctx context.Context, o Options) (*StatusReport, error) {
	return withFleet(ctx, o, runner.Status)
}

// Unlock clears the fleet lock held by runID (kongctl unlock --run ID),
// for a run that is known to be dead. It refuses when the lock is free or
// held by another run, so a typo cannot clear a live run's lock.
func Unlock(ctx context.Context, o Options, runID string) error {
	_, err := withFleet(ctx, o, func(ctx context.Context, o Options) (struct{}, error) {
		return struct{}{}, runner.Unlock(ctx, o, runID)
	})
	return err
}

// SpecFromInventory builds the controller's view of an upgrade. limit
// restricts the hosts; when wholeFleet is set (upgrade, rollback) it must
// keep every node that shares the database, since an in-place upgrade
// stops them all.
func SpecFromInventory(inv *inventory.Inventory, limit string, wholeFleet bool) (*Spec, error) {
	return runner.SpecFromInventory(inv, limit, wholeFleet)
}

// WithInterrupt returns ctx carrying the operator's soft interrupt: once
// ch is closed, running steps finish and no new step starts (the run
// pauses with ErrInterrupted).
func WithInterrupt(ctx context.Context, ch <-chan struct{}) context.Context {
	return runner.WithInterrupt(ctx, ch)
}

// ErrInterrupted is the error of a run the operator interrupted.
var ErrInterrupted = runner.ErrInterrupted

// withFleet runs call on the fleet: o's connector, else the production
// one built from the inventory (sshfleet), closed when call returns.
func withFleet[T any](ctx context.Context, o Options, call func(context.Context, Options) (T, error)) (T, error) {
	if o.Connector == nil {
		var zero T
		if o.Inventory == nil {
			return zero, errors.New("no inventory")
		}
		c, err := sshfleet.NewConnector(o.Inventory)
		if err != nil {
			return zero, err
		}
		defer c.Close()
		o.Connector = c
	}
	return call(ctx, o)
}

// ReportFile is the report of a run's latest upgrade or rollback, kept in
// the run's directory beside its journal (`kongctl report` reads it).
const ReportFile = runner.ReportFile

// StateDirOf is where an inventory's run journals live by default.
func StateDirOf(inv *inventory.Inventory) string { return runner.StateDirOf(inv) }

// RunDir is the directory of run runID under stateDir, the latest run's
// when runID is "".
func RunDir(stateDir, runID string) (string, error) { return runner.RunDir(stateDir, runID) }

// LoadRun reads the run in dir: its journal and its report (kept, or
// rebuilt from the journal when none was kept).
func LoadRun(dir string) (*Report, []journal.Record, error) { return runner.LoadRun(dir) }
