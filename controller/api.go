package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/term"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/inventory"
)

// Options configure one controller call. Inventory is required; Stdout and
// Stderr default to discarding.
//
// Output: with "json", events stream to Stdout as JSON lines and the
// final report is the last line (type "report"): the CLI prints nothing
// more. With "text", progress goes to Stderr (bars on a terminal, plain
// lines otherwise) and the CLI renders the returned report on Stdout with
// WriteText.
type Options struct {
	Inventory     *inventory.Inventory
	InventoryPath string // as the operator typed it (for the commands printed in hints)
	Limit         string // --limit: hosts, groups, tag:, role: (status); an upgrade must cover every node
	Yes           bool
	Resume        bool
	OnFailure     string // rollback | pause; "" = inventory
	// Decommission removes Kong from the old hosts once the new hosts
	// passed verify (new-hosts mode); false = inventory.
	Decommission bool
	To           string // overrides upgrade.to
	// Identity is the age identity file that decrypts an encrypted
	// backup (--identity); "" = backup.identity_file.
	Identity string
	Output   string // text | json
	Stdout   io.Writer
	Stderr   io.Writer
	Confirm  func(prompt string) bool
	// NoProgress turns progress bars off even on a terminal.
	NoProgress bool
	// Version is kongctl's version, recorded in the journal.
	Version string

	// Connector reaches the fleet; nil = SSH + agent built from the
	// inventory (NewConnector). Tests and the lab may inject one.
	Connector Connector
	// StateDir overrides where run journals live (default: .kongctl next
	// to the inventory).
	StateDir string

	clock clock // tests
}

// Plan runs the preflight (nothing is stopped or changed) and returns what
// an upgrade would do.
func Plan(ctx context.Context, o Options) (*UpgradePlan, error) {
	ctx, cancel := hardOnInterrupt(ctx)
	defer cancel()
	spec, cfg, done, err := prepare(o, false)
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
	if r != nil {
		keepReport(r)
	}
	if r != nil && o.Output == "json" {
		cfg.sink.Emit(progress.Event{Time: cfg.clk.Now(), Type: progress.Report, Payload: r})
	}
	return r, err
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
	if r != nil {
		keepReport(r)
	}
	if r != nil && o.Output == "json" {
		cfg.sink.Emit(progress.Event{Time: cfg.clk.Now(), Type: progress.Report, Payload: r})
	}
	return r, err
}

// Status reports versions, running state and schema state across the
// fleet, the fleet lock and the latest run.
func Status(ctx context.Context, o Options) (*StatusReport, error) {
	ctx, cancel := hardOnInterrupt(ctx)
	defer cancel()
	spec, cfg, done, err := prepare(o, false)
	if err != nil {
		return nil, err
	}
	defer done()
	return status(ctx, spec, cfg)
}

// makeStateDirs creates the bastion's state directories of an upgrade,
// the run journals and the backups' local copies: they sit beside the
// inventory, usually a git checkout, and the backups hold certificate keys
// and credentials. Each directory kongctl creates gets a .gitignore of "*"
// (in the outermost directory it creates), so they are never committed.
// Directories that exist are left as they are.
func makeStateDirs(spec *Spec) error {
	for _, dir := range []string{spec.StateDir, spec.Backup.LocalDir} {
		if dir == "" {
			continue
		}
		top := dir
		for {
			if _, err := os.Lstat(top); err == nil {
				break
			}
			parent := filepath.Dir(top)
			if _, err := os.Lstat(parent); err == nil || parent == top {
				break
			}
			top = parent
		}
		if _, err := os.Lstat(top); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create state directory %s: %w", dir, err)
		}
		ignore := "# Created by kongctl: run journals and database backups (keys, credentials).\n# Never commit them.\n*\n"
		if err := os.WriteFile(filepath.Join(top, ".gitignore"), []byte(ignore), 0o600); err != nil {
			return fmt.Errorf("create state directory %s: %w", dir, err)
		}
	}
	return nil
}

// JSONSchema is the version of kongctl's JSON output, carried as "schema"
// by every event line (the final report included) and every JSON result
// (progress.Schema).
const JSONSchema = progress.Schema

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
	if o.StateDir != "" {
		spec.StateDir = o.StateDir
	}
	if o.Identity != "" {
		spec.Backup.IdentityFile = o.Identity
	}
	conn := o.Connector
	if conn == nil {
		c, err := NewConnector(o.Inventory)
		if err != nil {
			return nil, runConfig{}, nil, err
		}
		conn = c
	}
	var clk clock = realClock{}
	if o.clock != nil {
		clk = o.clock
	}
	sink := newSink(o)
	cfg := runConfig{conn: conn, clk: clk, sink: sink, yes: o.Yes, confirm: o.Confirm, version: o.Version}
	done := func() {
		sink.Close()
		if o.Connector == nil {
			conn.Close()
		}
	}
	return spec, cfg, done, nil
}

func newSink(o Options) progress.Sink {
	if o.Output == "json" {
		return progress.NewJSON(o.Stdout)
	}
	if f, ok := o.Stderr.(*os.File); ok && !o.NoProgress && term.IsTerminal(int(f.Fd())) {
		return progress.NewBars(o.Stderr)
	}
	return progress.NewText(o.Stderr)
}

// SpecFromInventory builds the controller's view of an upgrade. limit
// restricts the hosts; when wholeFleet is set (upgrade, rollback) it must
// keep every node that shares the database, since an in-place upgrade
// stops them all.
func SpecFromInventory(inv *inventory.Inventory, limit string, wholeFleet bool) (*Spec, error) {
	if inv.Upgrade == nil || inv.Database == nil {
		return nil, errors.New("inventory has no upgrade or database block")
	}
	selected, err := inv.Select(limit)
	if err != nil {
		return nil, err
	}
	in := func(h *inventory.Host) bool { return slices.Contains(selected, h) }
	u := inv.Upgrade
	s := &Spec{
		InventoryPath: inv.Path,
		StateDir:      StateDirOf(inv),
		From:          u.From.String(),
		To:            u.To.String(),
		from:          u.From, // parsed by the inventory, kept
		to:            u.To,
		Edition:       string(u.Edition),
		Package:       PackageSpec{Source: u.Package.Source, Dir: u.Package.Dir},
		KongConf:      u.KongConf,
		Prefix:        u.Prefix,
		OnFailure:     u.OnFailure,
		StopMode:      u.Stop,
		FinishMode:    u.Finish,
		Decommission:  u.Decommission,
		RestoreDB:     true,
		Hooks:         map[HookPoint][]HookSpec{},
	}
	if b, err := os.ReadFile(inv.Path); err == nil {
		sum := sha256.Sum256(b)
		s.InventoryHash = hex.EncodeToString(sum[:])
	}
	for _, h := range inv.Hosts {
		hs := HostSpec{Name: h.Name, Address: h.Address}
		for _, r := range h.Roles {
			hs.Roles = append(hs.Roles, string(r))
		}
		s.Hosts = append(s.Hosts, hs)
	}
	var missing []string
	order := u.Order
	if len(order) == 0 {
		for _, h := range inv.Hosts {
			order = append(order, h.Name)
		}
	}
	for _, name := range order {
		h := inv.Host(name)
		if h == nil || !h.CanMigrate() {
			continue
		}
		if !in(h) {
			missing = append(missing, h.Name)
			continue
		}
		s.Nodes = append(s.Nodes, h.Name)
	}
	if wholeFleet && len(missing) > 0 {
		return nil, fmt.Errorf("--limit %q leaves out %v: every node sharing the database is stopped and upgraded together in place", limit, missing)
	}
	for _, h := range inv.HostsWithRole(inventory.RoleDataPlane) {
		if in(h) {
			s.DataPlanes = append(s.DataPlanes, h.Name)
		}
	}
	for _, h := range inv.HostsWithRole(inventory.RoleSpare) {
		if in(h) {
			s.Spares = append(s.Spares, h.Name)
		}
	}
	s.NewHosts = len(s.Spares) > 0
	if s.NewHosts {
		s.MigrationHost = s.Spares[0]
	} else if u.MigrationHost != "" {
		s.MigrationHost = u.MigrationHost
	} else if c := inv.MigrationCandidates(); len(c) > 0 {
		s.MigrationHost = c[0].Name
	}
	if th := inv.ToolsHost(); th != nil {
		s.ToolsHost = th.Name
	}
	s.MigrationsDBTimeout, s.MigrationsLockTimeout = u.MigrationTimeouts.DBTimeout, u.MigrationTimeouts.LockTimeout
	db := inv.Database
	s.DB = DBSpec{Host: db.Host, Port: db.Port, Name: db.Name, User: db.User, Schema: db.Schema, TLSMode: db.TLSMode, CAFile: db.CAFile}
	if !db.Secret.IsZero() {
		s.DB.Password = db.Password
	}
	if inv.Kong != nil && !inv.Kong.AdminToken.IsZero() {
		s.AdminToken = inv.AdminToken
	}
	if inv.Kong != nil {
		s.KeyringExportFile = inv.Kong.KeyringExport
	}
	if inv.Preflight != nil {
		s.AcceptConf = inv.Preflight.Accept
	}
	for _, hk := range inv.Hooks {
		spec := HookSpec{Name: hk.Event, Command: hk.Command, Timeout: hk.Timeout, ContinueOnError: hk.ContinueOnError, PerNode: hk.PerNode}
		if spec.Timeout == 0 {
			spec.Timeout = inv.Timeouts.Hook
		}
		if hk.On == inventory.OnBastion || hk.On == "" {
			spec.OnBastion = true
		} else {
			for _, h := range inv.Expand(hk.On) {
				spec.Hosts = append(spec.Hosts, h.Name)
			}
		}
		p := HookPoint(hk.Event)
		s.Hooks[p] = append(s.Hooks[p], spec)
	}
	if v := inv.Verify; v != nil {
		s.Verify.Soak = v.Soak
		s.Verify.Interval = v.Health.Interval
		s.Timeouts.Health = v.Health.Timeout
		if v.Gate.MaxErrorRate < 1 {
			s.Verify.MaxErrorRate = v.Gate.MaxErrorRate
		}
		if v.Gate.Max5xx >= 0 {
			m := v.Gate.Max5xx
			s.Verify.Max5xx = &m
		}
		s.Verify.MaxLatencyP99 = v.Gate.MaxLatencyP99
		s.Verify.MinRequests = v.Gate.MinRequests
		for _, sm := range v.Smoke {
			s.Verify.Smoke = append(s.Verify.Smoke, SmokeSpec{Name: sm.Name, Path: sm.Path, Host: sm.Host, Status: sm.Status})
		}
	}
	if b := inv.Backup; b != nil {
		s.Backup = BackupSpec{Dir: b.Dir, LocalDir: b.LocalDir, Retention: b.Retention, EncryptTo: b.EncryptTo, IdentityFile: b.IdentityFile}
	}
	t := inv.Timeouts
	s.Timeouts.Stop, s.Timeouts.Install, s.Timeouts.Migrations, s.Timeouts.Start = t.Stop, t.Install, t.Migrations, t.Start
	s.Timeouts.Preflight, s.Timeouts.Backup, s.Timeouts.Verify, s.Timeouts.Rollback = t.Preflight, t.Backup, t.Verify, t.Rollback
	s.Concurrency, s.UploadConcurrency = inv.SSH.Concurrency, inv.SSH.UploadConcurrency
	return s, nil
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
	return nil
}
