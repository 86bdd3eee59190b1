package fleet

import (
	"context"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/promtext"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// Node is one Kong host, reached through its agent. Implementations must be
// safe for concurrent use by one goroutine per call site (the controller
// never calls one Node from two goroutines at once, but may call different
// Nodes concurrently). Errors name the host and the operation.
type Node interface {
	// Facts reports what is installed and configured on the host.
	Facts(ctx context.Context) (Facts, error)
	// Stop stops Kong gracefully (QUIT, then TERM after timeout) and
	// returns once it is verified down.
	Stop(ctx context.Context, timeout time.Duration) error
	// Start starts Kong with the installed version and returns once the
	// process is up, with the health it last saw (zero when the node
	// does not report it; the caller checks health again then).
	Start(ctx context.Context, timeout time.Duration) (Health, error)
	// Health reports the running state, version and /status, readiness.
	Health(ctx context.Context) (Health, error)
	// StagePackage copies a package onto the host and verifies its
	// checksum there, without installing it, and reports what the file
	// holds and whether the host's installed packages meet its
	// dependencies. Staged packages are kept until the run is cleaned up
	// (X's is the rollback package).
	StagePackage(ctx context.Context, p PackageRef) (StagedPackage, error)
	// InstallPackage installs a staged package (Y forward, X on rollback)
	// and returns once `kong version` on the host reports p.Version.
	// When p.DepsMet it is the lean install (dpkg -i / rpm -U alone,
	// `kong version` checked, no hold: HoldPackage sets it later);
	// otherwise apt/dnf install it and hold it.
	InstallPackage(ctx context.Context, p PackageRef, timeout time.Duration) error
	// RepairPackages finishes a package operation left half-done on the
	// host (dpkg --configure -a after dpkg --audit, rpm's duplicates of
	// p.Name), once the detached installs still running there ended;
	// wait bounds that wait. A repair that fails is an error carrying the
	// command's output.
	RepairPackages(ctx context.Context, p PackageRef, wait time.Duration) (PackageRepair, error)
	// HoldPackage pins the installed package p against automatic
	// upgrades (apt-mark hold / dnf versionlock), alone.
	HoldPackage(ctx context.Context, p PackageRef) error
	// RemovePackage removes the installed Kong package p (decommission);
	// staged packages and /etc/kong/kong.conf stay.
	RemovePackage(ctx context.Context, p PackageRef) error
	// Migrations runs one `kong migrations` command and returns the parsed
	// state. For "up" and "finish" the command runs detached under
	// req.StepID: calling again with the same StepID attaches to the
	// running (or finished) step instead of starting a second one.
	Migrations(ctx context.Context, req MigrationsRequest) (SchemaState, error)
	// MigrationStep reports the state of the detached migrations step
	// stepID, waiting up to wait for it while it runs: StepRunning,
	// StepDone, StepLost, or StepNone when the node never started it.
	MigrationStep(ctx context.Context, stepID string, wait time.Duration) (string, error)
	// Exec runs a hook command on the host.
	Exec(ctx context.Context, req ExecRequest) (ExecResult, error)
	// Probe sends one smoke request through the host's own proxy.
	Probe(ctx context.Context, req ProbeRequest) (ProbeResult, error)
	// Metrics reads request and error counters from /metrics.
	Metrics(ctx context.Context) (Metrics, error)
	// DataPlanes lists the data planes a control plane knows
	// (/clustering/data-planes); empty on other nodes.
	DataPlanes(ctx context.Context) ([]DataPlane, error)
	// ReadConf and WriteConf move kong.conf (new-hosts mode). The content
	// may hold secrets: it is never logged.
	ReadConf(ctx context.Context) ([]byte, error)
	WriteConf(ctx context.Context, b []byte) error
	// Close releases the connection.
	Close() error
}

// Database is the Kong database, reached through the agent on the
// database tools host (pg_dump/pg_restore and a SQL client live there).
type Database interface {
	// Fingerprint checksums Kong's tables (row counts and content hashes).
	Fingerprint(ctx context.Context) (Fingerprint, error)
	// WriteSignature reads the write counters of Kong's configuration
	// tables (a cost that does not grow with the rows), waiting up to
	// settle for Kong's other connections to close (0: read at once).
	// Connections from endFrom (the addresses of the stopped Kong nodes)
	// are ended first: they have no client left.
	WriteSignature(ctx context.Context, settle time.Duration, endFrom []string) (WriteSignature, error)
	// Backup takes a pg_dump on the tools host; the BackupInfo carries the
	// fingerprint taken in the dump's snapshot (none for a dump an earlier
	// attempt left).
	Backup(ctx context.Context, req BackupRequest) (BackupInfo, error)
	// VerifyRestore restores b into a scratch database and compares it.
	VerifyRestore(ctx context.Context, b BackupInfo) error
	// Restore replaces the Kong database with b.
	Restore(ctx context.Context, b BackupInfo) error
	// Fetch copies b to localPath on the bastion.
	Fetch(ctx context.Context, b BackupInfo, localPath string) error
	// Remove deletes b on the tools host (backup retention).
	Remove(ctx context.Context, b BackupInfo) error
	// MigrationLock inspects Kong's own `locks` row for key "migrations".
	MigrationLock(ctx context.Context) (MigrationLock, error)
	Close() error
}

// Locker is kongctl's fleet lock (a table in a kongctl schema of the Kong
// database) plus the run summary row.
type Locker interface {
	// Acquire takes the lock for req.RunID. It is re-entrant for the same
	// run id (resume). When another run holds it, it returns the holder and
	// an error wrapping ErrLockHeld; it never takes a lock over.
	Acquire(ctx context.Context, req LockRequest) (LockInfo, error)
	Heartbeat(ctx context.Context, l LockInfo) error
	Release(ctx context.Context, l LockInfo) error
	// Inspect returns the current holder, if any.
	Inspect(ctx context.Context) (LockInfo, bool, error)
	// RecordRun upserts the run's summary row.
	RecordRun(ctx context.Context, r RunRecord) error
}

// Connector yields connections to the  Production: SSH + agent;
// tests: fakes.
type Connector interface {
	// Node connects to the named inventory host and delivers the agent.
	Node(ctx context.Context, host string) (Node, error)
	Database(ctx context.Context) (Database, error)
	Locker(ctx context.Context) (Locker, error)
	Close() error
}

// AgentDelivery is what delivering the agent cost: hosts reached, hosts
// that needed an upload, and the bytes sent.
type AgentDelivery struct {
	Hosts         int   `json:"hosts"`
	UploadedTo    int   `json:"uploaded_to"`
	UploadedBytes int64 `json:"uploaded_bytes"`
}

// Facts is what a node reports about itself.
type Facts struct {
	Version       string            `json:"version"` // "" when Kong is not installed
	Edition       string            `json:"edition"` // oss | enterprise
	Running       bool              `json:"running"`
	Arch          string            `json:"arch"`           // amd64 | arm64
	PackageFormat string            `json:"package_format"` // deb | rpm
	DiskFreeBytes int64             `json:"disk_free_bytes"`
	Plugins       []string          `json:"plugins"`           // loaded plugins (the `plugins` setting, expanded)
	Role          string            `json:"role"`              // traditional | control_plane | data_plane
	Conf          map[string]string `json:"conf,omitempty"`    // kong.conf + KONG_* env; secret keys removed
	Service       string            `json:"service,omitempty"` // systemd unit, when used
	// AdminAPI is the HTTP status of the running node's Admin API GET /
	// with the inventory's token; 0 when not read.
	AdminAPI int `json:"admin_api,omitempty"`
	// DB is the node's effective database settings (kong.conf with the
	// service's KONG_* environment over it) and where each comes from;
	// a secret's value is never kept ("set" or "not set").
	DB []ConfSetting `json:"db,omitempty"`
	// EnvSource is where the service's environment was read ("systemd
	// unit kong.service", "process 1234", "file <path>"; "" none);
	// EnvError why it could not be (preflight refuses the node).
	EnvSource string `json:"env_source,omitempty"`
	EnvError  string `json:"env_error,omitempty"`

	// ConfFile is the kong.conf the agent read ("" when none) and
	// ConfEntries its `key = value` lines with their line numbers (values
	// of secret keys left out), for the removed/renamed property rules.
	ConfFile    string                  `json:"conf_file,omitempty"`
	ConfEntries []upgradepath.ConfEntry `json:"conf_entries,omitempty"`

	// Keyring is the Enterprise keyring's effective settings (keyring.go).
	Keyring KeyringConf `json:"keyring,omitempty"`
}

// ConfSetting is one effective configuration value and its source:
// "kong.conf <path>", "environment (<where>)" or "default".
type ConfSetting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Health is a node's running state.
type Health struct {
	Running     bool   `json:"running"`
	Version     string `json:"version"`
	StatusOK    bool   `json:"status_ok"`    // GET /status answered 200
	Ready       bool   `json:"ready"`        // GET /status/ready 200 (3.3+; true when not served)
	DBReachable bool   `json:"db_reachable"` // /status database.reachable
	Detail      string `json:"detail,omitempty"`
}

// Healthy is the verified-up condition used after start.
func (h Health) Healthy() bool { return h.Running && h.StatusOK && h.Ready && h.DBReachable }

// PackageRef names a Kong package. LocalPath and SHA256 are set for
// packages shipped from the bastion (source "file").
type PackageRef struct {
	Name      string `json:"name"` // kong | kong-enterprise-edition
	Version   string `json:"version"`
	Edition   string `json:"edition"`
	Format    string `json:"format"` // deb | rpm
	Arch      string `json:"arch"`
	Source    string `json:"source"` // file | repository
	LocalPath string `json:"local_path,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	// Set by staging (journaled with preflight's data): the package and
	// version inside the staged file, and whether the host's installed
	// packages meet its dependencies, which makes the install inside the
	// downtime a plain dpkg -i / rpm -U. Only Y's ref carries DepsMet: X's
	// reinstall on rollback takes the package manager's path, hold
	// included.
	FilePackage string `json:"file_package,omitempty"`
	FileVersion string `json:"file_version,omitempty"`
	DepsMet     bool   `json:"deps_met,omitempty"`
	// Plugin marks a custom plugin package (upgrade.package.plugin_packages):
	// installed beside Kong, its version not Kong's, never held.
	Plugin bool `json:"plugin,omitempty"`
	// Background installs at a lower CPU priority: set for the nodes
	// whose install is off the critical path of the window; never
	// journaled.
	Background bool `json:"-"`
	// StepID, when set, runs the install as a detached step of that id on
	// the node: it finishes there even when the controller dies, and a
	// second call with the same id attaches to it instead of installing
	// again. Never journaled.
	StepID string `json:"-"`
}

// PackageRepair is what RepairPackages found and did.
type PackageRepair struct {
	Checked   string   // the command that looked (dpkg --audit, rpm -q ...)
	Found     string   // what it reported half-done ("" when nothing)
	Repaired  string   // the command that repaired it ("" when nothing)
	Output    string   // the repair's output (tail)
	WaitedFor []string // detached installs still running, waited for first
}

// StagedPackage is what a host found in a staged package file.
type StagedPackage struct {
	Package string // name inside the file
	Version string // deb Version, rpm VERSION-RELEASE
	DepsMet bool   // the installed packages meet its dependencies
	// DepsDetail says why they do not.
	DepsDetail string
}

// MigrationsRequest is one `kong migrations` command.
type MigrationsRequest struct {
	Command     string        // list | status | up | finish
	StepID      string        // detached step id for up/finish
	Force       bool          // -f
	DBTimeout   time.Duration // --db-timeout
	LockTimeout time.Duration // --lock-timeout
	// StepTimeout bounds a detached up/finish step (0 = DBTimeout).
	StepTimeout time.Duration
}

// SchemaState is the parsed result of a migrations command.
type SchemaState struct {
	ExitCode       int      `json:"exit_code"`
	NeedsBootstrap bool     `json:"needs_bootstrap"`
	Pending        []string `json:"pending,omitempty"` // "subsystem:name"
	New            []string `json:"new,omitempty"`
	// Aborted is set when Kong printed "aborted: another node is performing
	// database changes" (exit 0, nothing done).
	Aborted bool   `json:"aborted"`
	Output  string `json:"-"`
	// After is, for up and finish, the `kong migrations list` the node ran
	// right after the command (nil when the node does not report one: the
	// controller then lists itself).
	After *SchemaState `json:"-"`
}

// States of a detached migrations step (Node.MigrationStep).
const (
	StepNone    = ""
	StepRunning = "running"
	StepDone    = "done"
	StepLost    = "lost" // its runner died without a reply
)

// UpToDate is `list` exit 0.
func (s SchemaState) UpToDate() bool {
	return s.ExitCode == 0 && !s.NeedsBootstrap && len(s.New) == 0 && len(s.Pending) == 0
}

// UpApplied is the state after a complete `kong migrations up`: nothing
// new left, teardowns pending (exit 4) or none (exit 0). `list` exits 4
// too with pending and new migrations at once (kong-reference 1.3), which
// is what an `up` still running, or cut off, leaves: not applied.
func (s SchemaState) UpApplied() bool {
	return (s.ExitCode == 4 || s.ExitCode == 0) && !s.NeedsBootstrap && len(s.New) == 0
}

// ExecRequest is a hook command run on a host.
type ExecRequest struct {
	Command string
	Env     map[string]string
	Timeout time.Duration
}

// ExecTailBytes is how much of the end of each of a hook's streams an
// ExecResult keeps (the agent's limit, agentproto.TailBytes).
const ExecTailBytes = agentproto.TailBytes

// ExecResult is what a hook did.
type ExecResult struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// ProbeRequest is one smoke request through a node's proxy.
type ProbeRequest struct {
	Path       string
	Host       string // Host header
	WantStatus int
	Timeout    time.Duration
}

// ProbeResult is the answer to a ProbeRequest.
type ProbeResult struct {
	Status  int
	Latency time.Duration
}

// DataPlane is one entry of /clustering/data-planes (kong-reference
// 9.8): the data plane's node id, where it connects from, the version and
// configuration hash it last reported, when the control plane last heard
// from it (Unix seconds) and whether the control plane syncs it ("normal";
// "" when the control plane does not say).
type DataPlane struct {
	ID         string `json:"id"`
	Hostname   string `json:"hostname"`
	IP         string `json:"ip"`
	Version    string `json:"version"`
	ConfigHash string `json:"config_hash,omitempty"`
	SyncStatus string `json:"sync_status,omitempty"`
	LastSeen   int64  `json:"last_seen,omitempty"`
}

// Fingerprint summarises the content of Kong's tables.
type Fingerprint struct {
	Sum    string            `json:"sum"`
	Tables map[string]string `json:"tables,omitempty"` // table -> hash
}

// Equal compares fingerprints by their sum.
func (f Fingerprint) Equal(g Fingerprint) bool { return f.Sum != "" && f.Sum == g.Sum }

// ChangedTables lists, sorted, the tables whose hash differs (a table
// added or dropped included).
func (f Fingerprint) ChangedTables(g Fingerprint) []string {
	return changedKeys(f.Tables, g.Tables, nil)
}

// BackupRequest asks for a pg_dump.
type BackupRequest struct {
	Dir  string // on the tools host
	Name string
}

// BackupInfo describes a backup taken on the tools host.
type BackupInfo struct {
	Path        string      `json:"path"` // on the tools host
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	Fingerprint Fingerprint `json:"fingerprint"` // of the data it holds (the dump's snapshot)
	LocalPath   string      `json:"local_path,omitempty"`
	Taken       time.Time   `json:"taken"`

	// Encrypted says LocalPath is the dump encrypted with age to
	// backup.encrypt_to (SHA256 stays the clear dump's, EncryptedSHA256 is
	// the file's) and the clear dump at Path was deleted once it was
	// verified and copied.
	Encrypted       bool   `json:"encrypted,omitempty"`
	EncryptedSHA256 string `json:"encrypted_sha256,omitempty"`

	// WriteSignature is the configuration tables' write counters read
	// right before the dump (nil: not usable on this server, or a backup
	// recorded by an older kongctl).
	WriteSignature *WriteSignature `json:"write_signature,omitempty"`
}

// MigrationLock is Kong's `locks` row for migrations.
type MigrationLock struct {
	Held    bool      `json:"held"`
	Owner   string    `json:"owner,omitempty"`
	Expires time.Time `json:"expires,omitempty"`
}

// LockRequest asks for the fleet lock.
type LockRequest struct {
	RunID string
	Owner string // user@bastion
	TTL   time.Duration
	Note  string
}

// LockInfo is the fleet lock's holder.
type LockInfo struct {
	RunID     string    `json:"run_id"`
	Owner     string    `json:"owner"`
	Acquired  time.Time `json:"acquired"`
	Heartbeat time.Time `json:"heartbeat"`
	Expires   time.Time `json:"expires"` // heartbeat + TTL
	Note      string    `json:"note,omitempty"`
}

// Stale reports whether the holder stopped heartbeating.
func (l LockInfo) Stale(now time.Time) bool { return !l.Expires.IsZero() && now.After(l.Expires) }

// RunRecord is the run's summary row in the database.
type RunRecord struct {
	RunID   string    `json:"run_id"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Phase   string    `json:"phase"`
	Status  string    `json:"status"`
	Updated time.Time `json:"updated"`
}

// The metrics a node serves, as promtext reads them.
type (
	Metrics   = promtext.Metrics
	Histogram = promtext.Histogram
	Bucket    = promtext.Bucket
)
