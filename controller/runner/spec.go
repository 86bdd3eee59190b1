package runner

import (
	"fmt"
	"slices"
	"time"

	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/kongver"
)

// Spec is the controller's view of one upgrade, built from the inventory
// (specFromInventory) so that the engine does not depend on how the
// inventory is written. Tests build it directly.
type Spec struct {
	InventoryPath string
	InventoryHash string
	StateDir      string // where runs/<run-id>/journal.jsonl live

	Hosts []HostSpec // every inventory host, in inventory order

	// Nodes are the Kong hosts upgraded in place (traditional nodes and
	// control planes), in stop order.
	Nodes []string
	// Spares receive Y in new-hosts mode; Nodes are then stopped and left
	// installed with X for rollback.
	Spares   []string
	NewHosts bool
	// DataPlanes are hybrid data planes in the inventory: checked for
	// compatibility, and upgraded after the control planes when
	// DataPlaneMode is DataPlanesRolling, DPBatch at a time.
	DataPlanes    []string
	DataPlaneMode DataPlaneMode
	DPBatch       int
	MigrationHost string
	ToolsHost     string
	// Rehearsal is the host of role rehearsal ("" none): Y's migrations
	// are rehearsed there on a scratch copy of the database (rehearsal.go).
	// NoRehearsal skips it (--no-rehearsal).
	Rehearsal   string
	NoRehearsal bool
	// MigrationsDBTimeout and MigrationsLockTimeout override the sized
	// --db-timeout and --lock-timeout (migtimeouts.go); 0 = sized.
	MigrationsDBTimeout, MigrationsLockTimeout time.Duration

	DB DBSpec
	// AcceptConf are the kong.conf properties the inventory acknowledges
	// (preflight { accept = [...] }): their removed/renamed findings do not
	// stop the upgrade.
	AcceptConf []string
	// AdminToken resolves the Admin API token's reference (Enterprise
	// RBAC), nil when the inventory names none; the value is only used to
	// redact it from output here (the connector sends it to the agents).
	AdminToken func() ([]byte, error)
	// KeyringExportFile is an Enterprise keyring export the inventory
	// names (kong { keyring_export_file }); "" lets kongctl take one.
	KeyringExportFile string

	From, To string // From "" = detect from the fleet
	// from and to are From and To parsed: by the inventory (SpecFromInventory)
	// or, for a From or To set otherwise (--to, a resumed run's journal), by
	// validate.
	from, to  kongver.Version
	Edition   inventory.Edition // target edition
	Package   PackageSpec
	KongConf  string
	Prefix    string
	OnFailure OnFailure
	// StopMode is parallel (default) or sequential; FinishMode is
	// "before-start" (default) or "after-verify" (inventory.Upgrade).
	StopMode   StopMode
	FinishMode FinishMode
	RestoreDB  bool // restore the DB on rollback even before finish (default true)
	// Decommission removes Kong from the old hosts once the new ones
	// passed verify (new-hosts mode, on request).
	Decommission bool
	// StartBetweenHops starts Kong on the migration node on each
	// intermediate version of a multi-hop upgrade, then stops it, before
	// the next hop (upgrade.start_between_hops; phase_hops.go).
	StartBetweenHops bool

	Hooks    map[HookPoint][]HookSpec
	Verify   VerifySpec
	Backup   BackupSpec
	Timeouts Timeouts
	// Concurrency (ssh.concurrency, default 16) and UploadConcurrency
	// (ssh.upload_concurrency, default 8) bound the work across hosts:
	// see limits.go.
	Concurrency, UploadConcurrency int

	// MinDiskFree is the free space each node needs for staging when the
	// package sizes are unknown (repository source); with local package
	// files the need is measured from their sizes.
	MinDiskFree int64

	// DualCluster (upgrade.strategy = "dual-cluster") runs Y on the
	// spares beside X, on its own database TargetDB restored from X's
	// verified backup (on X's server, or on TargetServer), and shifts the traffic from X
	// to Y in the load balancer in Shift steps (percentages on Y, the
	// last 100): dualcluster.go. X and its database are never written.
	DualCluster bool
	TargetDB    string
	// TargetServer is TargetDB's server when it is not X's (the
	// inventory's target_database object; nil: X's server): Y's
	// kong.conf points at it (dualcluster_server.go).
	TargetServer *TargetServerSpec
	Shift        []int
	// ReplaceTarget (upgrade.replace_target_database) drops a TargetDB
	// that exists already and restores it again; never X's database.
	ReplaceTarget bool

	// LB is the load balancer in front of the nodes (nil: none): each
	// node is drained there before it stops and set ready once it serves
	// (lbdrain.go).
	LB *LBSpec
}

// HostSpec is one inventory host as the controller sees it.
type HostSpec struct {
	Name    string
	Address string
	Roles   []string
}

// Has reports whether the host has role r.
func (h HostSpec) Has(r string) bool { return slices.Contains(h.Roles, r) }

// DBSpec is the Kong database. Password resolves the reference at run
// time; the value is only used to redact it from output here.
type DBSpec struct {
	Host, Name, User, Schema string
	Port                     int
	TLSMode                  string // libpq sslmode of kongctl's own connection (database.tls_mode; "" = prefer)
	CAFile                   string // the server's CA on the bastion (database.ca_file), "" = none
	Password                 func() ([]byte, error)
}

// PackageSpec says where packages come from.
type PackageSpec struct {
	Source PackageSource
	Dir    string // for file: holds kong_<version>_<arch>.deb / .rpm
	// Plugins are the custom plugin packages the nodes have installed:
	// checked on every node, installed on the rehearsal host (plugins.go).
	Plugins []string
}

// HookPoint is where a hook runs.
type HookPoint string

const (
	HookBeforeStop HookPoint = "before_stop"
	HookAfterStop  HookPoint = "after_stop"
	HookAfterStart HookPoint = "after_start"
	HookOnRollback HookPoint = "on_rollback"
)

// HookSpec is one operator command run at a hook point.
type HookSpec struct {
	Name    string
	Command string
	// Hosts it runs on; empty = the migration host (unless OnBastion).
	Hosts []string
	// OnBastion runs the command where kongctl runs.
	OnBastion bool
	Timeout   time.Duration
	// ContinueOnError lets the run go on when the hook fails.
	ContinueOnError bool
	// PerNode runs the hook once per Kong node, around that node's stop
	// (before_stop) or start (after_start), with KONGCTL_NODE and
	// KONGCTL_NODE_ADDRESS set.
	PerNode bool
}

// VerifySpec is the post-start verification.
type VerifySpec struct {
	Soak         time.Duration
	Interval     time.Duration // between samples in the soak window
	Smoke        []SmokeSpec
	MaxErrorRate float64 // 0..1; 0 = no gate
	// Max5xx is the 5xx responses the fleet may serve over the soak
	// window; nil = no gate.
	Max5xx *int
	// MaxLatencyP99 bounds each node's p99 request latency over the soak
	// window (Kong's latency histogram); 0 = no gate.
	MaxLatencyP99 time.Duration
	// MinRequests is the proxied requests the fleet must serve over the
	// soak window for the verify to pass at all; 0 = no gate.
	MinRequests int
}

// hasGates says whether any metric gate is set (they read /metrics).
func (v VerifySpec) hasGates() bool {
	return v.MaxErrorRate > 0 || v.Max5xx != nil || v.MaxLatencyP99 > 0 || v.MinRequests > 0
}

// SmokeSpec is one request sent through every node's proxy.
type SmokeSpec struct {
	Name   string // verify.smoke.name, for errors; "" = the path
	Path   string
	Host   string
	Status int
}

// label names the smoke request in errors: `"ping" (/v1/ping)` or the path.
func (s SmokeSpec) label() string {
	if s.Name == "" {
		return s.Path
	}
	return fmt.Sprintf("%q (%s)", s.Name, s.Path)
}

// BackupSpec is where backups go.
type BackupSpec struct {
	Dir      string // on the tools host
	LocalDir string // on the bastion; "" = the run directory
	// Retention is how many runs' backups are kept (0 =
	// DefaultBackupRetention); older ones are deleted once a new backup is
	// verified, never those of a run that is paused or not finished.
	Retention int
	// EncryptTo are age recipients: the bastion's copy is encrypted to
	// them and the tools host's clear dump deleted (backupcrypt.go).
	EncryptTo []string
	// IdentityFile holds the age identity that decrypts the backup for a
	// restore (backup.identity_file, or --identity).
	IdentityFile string
}

// Timeouts bounds each step.
type Timeouts struct {
	Stop, Install, Migrations, Start, Health time.Duration
	// Preflight, Backup and Verify bound those whole phases, Rollback the
	// whole rollback (0: no bound of their own; see phaseTimeout).
	Preflight, Backup, Verify, Rollback time.Duration
	// DataPlane bounds the wait for a rolled data plane to be reported
	// connected on Y by the control plane (upgrade.data_plane_timeout).
	DataPlane        time.Duration
	MigrationLockTTL time.Duration // kong --lock-timeout
	FleetLockTTL     time.Duration
}

func (s *Spec) withDefaults() {
	d := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	d(&s.Timeouts.Stop, 60*time.Second)
	d(&s.Timeouts.Install, 5*time.Minute)
	d(&s.Timeouts.Migrations, 10*time.Minute)
	d(&s.Timeouts.Start, 60*time.Second)
	d(&s.Timeouts.Health, 60*time.Second)
	d(&s.Timeouts.MigrationLockTTL, 60*time.Second)
	d(&s.Timeouts.FleetLockTTL, 2*time.Minute)
	d(&s.Verify.Interval, 5*time.Second)
	d(&s.Timeouts.DataPlane, 2*time.Minute)
	if s.DataPlaneMode == "" {
		s.DataPlaneMode = DataPlanesCheck
	}
	if s.DPBatch <= 0 {
		s.DPBatch = 1
	}
	if s.Concurrency <= 0 {
		s.Concurrency = inventory.DefaultConcurrency
	}
	if s.UploadConcurrency <= 0 {
		s.UploadConcurrency = inventory.DefaultUploadConcurrency
	}
	if s.OnFailure == "" {
		s.OnFailure = OnFailureRollback
	}
	if s.Edition == "" {
		s.Edition = inventory.EditionOSS
	}
	if s.StopMode == "" {
		s.StopMode = StopParallel
	}
	if s.FinishMode == "" {
		s.FinishMode = FinishBeforeStart
	}
	if s.MinDiskFree == 0 {
		s.MinDiskFree = 512 << 20
	}
	if s.Package.Source == "" {
		s.Package.Source = SourceFile
	}
	if s.MigrationHost == "" {
		if s.NewHosts && len(s.Spares) > 0 {
			s.MigrationHost = s.Spares[0]
		} else if len(s.Nodes) > 0 {
			s.MigrationHost = s.Nodes[0]
		}
	}
}

func (s *Spec) validate() error {
	if len(s.Nodes) == 0 {
		return fmt.Errorf("inventory has no kong or control_plane hosts to upgrade")
	}
	if s.To == "" {
		return fmt.Errorf("no target version: set upgrade.to in the inventory or pass --to")
	}
	var err error
	if s.to.String() != s.To {
		if s.to, err = kongver.Parse(s.To); err != nil {
			return fmt.Errorf("upgrade.to: %w", err)
		}
	}
	if s.from.String() != s.From {
		if s.from, err = kongver.Parse(s.From); err != nil {
			return fmt.Errorf("upgrade.from: %w", err)
		}
	}
	// No path at all is refused before any host is reached, naming the
	// nearest valid target (a chain of hops is preflight's to check).
	if !upgradepath.Known(s.to) {
		return fmt.Errorf("upgrade.to %s: Kong never shipped a %s series; the nearest valid target is %s", s.to, s.to.Series(), upgradepath.NearestTarget(s.to))
	}
	if !s.from.IsZero() && s.from.Core().Compare(s.to.Core()) > 0 {
		return fmt.Errorf("upgrade.to: %s", upgradepath.Check(s.from, s.to, "", "").Reason)
	}
	if s.NewHosts && len(s.Spares) < 1 {
		return fmt.Errorf("new-hosts mode needs hosts with role spare")
	}
	if s.Decommission && !s.NewHosts {
		return fmt.Errorf("decommission applies to the old hosts of a new-hosts upgrade (hosts with role spare); an in-place upgrade keeps its hosts")
	}
	if s.ToolsHost == "" {
		return fmt.Errorf("no database tools host: set database.tools_host")
	}
	if err := s.validateDualCluster(); err != nil {
		return err
	}
	if s.StopMode != StopParallel && s.StopMode != StopSequential {
		return fmt.Errorf("stop %q: want %s or %s", s.StopMode, StopParallel, StopSequential)
	}
	if s.FinishMode != FinishBeforeStart && s.FinishMode != FinishAfterVerify {
		return fmt.Errorf("finish %q: want %s or %s", s.FinishMode, FinishBeforeStart, FinishAfterVerify)
	}
	if t := s.Timeouts.Verify; t > 0 && s.Verify.Soak >= t {
		return fmt.Errorf("verify.soak %s does not fit in timeouts.verify %s, which bounds the whole verify phase: raise timeouts.verify", s.Verify.Soak, t)
	}
	if s.DataPlaneMode != DataPlanesCheck && s.DataPlaneMode != DataPlanesRolling {
		return fmt.Errorf("data_planes %q: want %s or %s", s.DataPlaneMode, DataPlanesCheck, DataPlanesRolling)
	}
	if s.OnFailure != OnFailureRollback && s.OnFailure != OnFailurePause {
		return fmt.Errorf("on_failure %q: want rollback or pause", s.OnFailure)
	}
	return nil
}

// finishAfterVerify says whether `kong migrations finish` waits for the
// verify gates (Y starts right after up, with pending migrations).
func (s *Spec) finishAfterVerify() bool { return s.FinishMode == FinishAfterVerify }

// targets are the hosts that end up running Y.
func (s *Spec) targets() []string {
	if s.NewHosts {
		return s.Spares
	}
	return s.Nodes
}

// host returns the HostSpec of name.
func (s *Spec) host(name string) HostSpec {
	for _, h := range s.Hosts {
		if h.Name == name {
			return h
		}
	}
	return HostSpec{Name: name}
}

// OnFailure is what a failed upgrade does (upgrade.on_failure,
// --on-failure).
type OnFailure string

// The answers to a failed upgrade.
const (
	OnFailureRollback OnFailure = "rollback" // undo the started phases
	OnFailurePause    OnFailure = "pause"    // stop and wait for --resume or rollback
)

// PackageSource is where the Kong packages come from (upgrade.package).
type PackageSource string

// The package sources.
const (
	SourceFile       PackageSource = inventory.SourceFile       // a bastion directory, staged over SSH
	SourceRepository PackageSource = inventory.SourceRepository // the node's configured apt/dnf repository
)

// StopMode is how the nodes are stopped (upgrade.stop).
type StopMode string

// The stop modes.
const (
	StopParallel   StopMode = inventory.StopParallel   // the migration node first, then the others at once
	StopSequential StopMode = inventory.StopSequential // one after the other, in order
)

// FinishMode is where `kong migrations finish` runs (upgrade.finish).
type FinishMode string

// The finish placements.
const (
	FinishBeforeStart FinishMode = inventory.FinishBeforeStart // in the downtime, before Y starts
	FinishAfterVerify FinishMode = inventory.FinishAfterVerify // once the verify gates passed
)

// DataPlaneMode is what an upgrade does to hybrid data planes
// (upgrade.data_planes).
type DataPlaneMode string

// The data-plane modes.
const (
	DataPlanesCheck   DataPlaneMode = inventory.DataPlanesCheck   // compatibility checked, nothing changed
	DataPlanesRolling DataPlaneMode = inventory.DataPlanesRolling // upgraded in batches after the control planes
)

// rolledDataPlanes are the data planes this upgrade rolls to Y (none
// unless data_planes = "rolling").
func (s *Spec) rolledDataPlanes() []string {
	if s.DataPlaneMode != DataPlanesRolling {
		return nil
	}
	return s.DataPlanes
}
