package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/inventory"
)

// Options configure one run (controller.Options). Inventory and Connector
// are required; Stdout and Stderr default to discarding.
//
// Output: with "json", events stream to Stdout as JSON lines and the
// final report is the last line (type "report"): the CLI prints nothing
// more. With "text", progress goes to Stderr (Sink: the CLI shows bars on
// a terminal) and the CLI renders the returned result on Stdout
// (controller/cli/view).
type Options struct {
	Inventory     *inventory.Inventory
	InventoryPath string // as the operator typed it (for the commands printed in hints)
	Limit         string // --limit: hosts, groups, tag:, role: (status); an upgrade must cover every node
	Yes           bool
	Resume        bool
	OnFailure     OnFailure // "" = inventory
	// Decommission removes Kong from the old hosts once the new hosts
	// passed verify (new-hosts mode); false = inventory.
	Decommission bool
	// NoRehearsal skips the rehearsal on the rehearsal host (--no-rehearsal).
	NoRehearsal bool
	To          string // overrides upgrade.to
	// Identity is the age identity file that decrypts an encrypted
	// backup (--identity); "" = backup.identity_file.
	Identity string
	Output   string // text | json
	Stdout   io.Writer
	Stderr   io.Writer
	Confirm  func(prompt string) bool
	// Sink receives the progress events; nil = JSON lines on Stdout with
	// Output "json", plain lines on Stderr otherwise. The call closes it.
	Sink progress.Sink
	// Version is kongctl's version, recorded in the journal.
	Version string

	// Connector reaches the fleet (required here; the controller package
	// supplies SSH + agent, sshfleet.NewConnector, when it is nil). The
	// caller closes it.
	Connector fleet.Connector
	// StateDir overrides where run journals live (default: .kongctl next
	// to the inventory).
	StateDir string

	clock clock // tests
}

// Plan runs the preflight (nothing is stopped or changed) and returns what
// an upgrade would do.
func Plan(ctx context.Context, o Options) (*UpgradePlan, error) {
	ctx, spec, cfg, done, err := prepareReadOnly(ctx, o)
	if err != nil {
		return nil, err
	}
	defer done()
	p, err := plan(ctx, spec, cfg)
	if err == nil && o.Output == "json" {
		cfg.sink.Emit(progress.Event{Time: cfg.clk.Now(), Type: progress.Report, Payload: p})
	}
	return p, err
}

// Upgrade runs the upgrade (or resumes the latest run with Options.Resume)
// and returns its report. The error is non-nil only when the run could not
// start (bad options, no journal to resume); a failed run is a Report with
// Outcome Failed, RolledBack or Paused.
func Upgrade(ctx context.Context, o Options) (*Report, error) {
	spec, cfg, done, err := prepare(o, true)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := makeStateDirs(spec); err != nil {
		return nil, err
	}
	cfg.resume = o.Resume
	r, err := upgrade(ctx, spec, cfg)
	return ended(o, cfg, r, err)
}

// Rollback undoes the latest run from its journal: restore the database
// when migrations touched it, reinstall X, start X, verify, release the
// lock.
func Rollback(ctx context.Context, o Options) (*Report, error) {
	spec, cfg, done, err := prepare(o, true)
	if err != nil {
		return nil, err
	}
	defer done()
	r, err := rollbackRun(ctx, spec, cfg)
	return ended(o, cfg, r, err)
}

// ended keeps a run's report beside its journal and, with JSON output,
// emits it as the last event.
func ended(o Options, cfg runConfig, r *Report, err error) (*Report, error) {
	if r != nil {
		keepReport(r)
		if o.Output == "json" {
			cfg.sink.Emit(progress.Event{Time: cfg.clk.Now(), Type: progress.Report, Payload: r})
		}
	}
	return r, err
}

// Status reports versions, running state and schema state across the
// fleet, the fleet lock and the latest run.
func Status(ctx context.Context, o Options) (*StatusReport, error) {
	ctx, spec, cfg, done, err := prepareReadOnly(ctx, o)
	if err != nil {
		return nil, err
	}
	defer done()
	return status(ctx, spec, cfg)
}

// prepareReadOnly prepares a command that changes nothing (plan, status):
// an interrupt cancels it at once. done releases what prepare took, then
// the interrupt handler.
func prepareReadOnly(ctx context.Context, o Options) (context.Context, *Spec, runConfig, func(), error) {
	ctx, cancel := hardOnInterrupt(ctx)
	spec, cfg, done, err := prepare(o, false)
	if err != nil {
		cancel()
		return ctx, nil, runConfig{}, nil, err
	}
	return ctx, spec, cfg, func() { done(); cancel() }, nil
}

// prepare turns Options into a Spec and a runConfig.
func prepare(o Options, wholeFleet bool) (*Spec, runConfig, func(), error) {
	if o.Inventory == nil {
		return nil, runConfig{}, nil, errors.New("no inventory")
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	spec, err := SpecFromInventory(o.Inventory, o.Limit, wholeFleet)
	if err != nil {
		return nil, runConfig{}, nil, err
	}
	if o.InventoryPath != "" {
		spec.InventoryPath = o.InventoryPath
	}
	if o.To != "" {
		spec.To = o.To
	}
	if o.OnFailure != "" {
		spec.OnFailure = o.OnFailure
	}
	if o.Decommission {
		spec.Decommission = true
	}
	if o.NoRehearsal {
		spec.NoRehearsal = true
	}
	if o.StateDir != "" {
		spec.StateDir = o.StateDir
	}
	if o.Identity != "" {
		spec.Backup.IdentityFile = o.Identity
	}
	conn := o.Connector
	if conn == nil {
		return nil, runConfig{}, nil, errors.New("no connector to reach the fleet")
	}
	var clk clock = realClock{}
	if o.clock != nil {
		clk = o.clock
	}
	sink := sinkOf(o)
	cfg := runConfig{conn: conn, clk: clk, sink: sink, yes: o.Yes, confirm: o.Confirm, version: o.Version}
	done := func() { sink.Close() }
	return spec, cfg, done, nil
}

// sinkOf is the sink progress goes to: the caller's, else the default.
func sinkOf(o Options) progress.Sink {
	if o.Sink != nil {
		return o.Sink
	}
	if o.Output == "json" {
		return progress.NewJSON(o.Stdout)
	}
	return progress.NewText(o.Stderr)
}

// Unlock clears the fleet lock held by runID (kongctl unlock --run ID),
// for a run that is known to be dead. It refuses when the lock is free or
// held by another run, so a typo cannot clear a live run's lock.
func Unlock(ctx context.Context, o Options, runID string) error {
	ctx, cancel := hardOnInterrupt(ctx)
	defer cancel()
	spec, cfg, done, err := prepare(o, false)
	if err != nil {
		return err
	}
	defer done()
	_ = spec
	l, err := cfg.conn.Locker(ctx)
	if err != nil {
		return fmt.Errorf("connect to fleet lock: %w", err)
	}
	info, held, err := l.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspect fleet lock: %w", err)
	}
	if !held {
		return errors.New("the fleet lock is free")
	}
	if info.RunID != runID {
		return fmt.Errorf("the fleet lock is held by run %s, not %s", info.RunID, runID)
	}
	if err := l.Release(ctx, info); err != nil {
		return fmt.Errorf("release fleet lock of run %s: %w", runID, err)
	}
	return dropRunScratch(ctx, cfg.conn, runID, cfg.sink)
}
