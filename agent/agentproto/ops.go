package agentproto

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SecretHolder is implemented by params that carry secrets; the agent
// redacts every string it returns from them.
type SecretHolder interface {
	Secrets() []string
}

// ---- hello ----

// HelloParams asks for the agent's identity. It has no fields.
type HelloParams struct{}

// HelloResult identifies the agent binary.
type HelloResult struct {
	ProtocolVersion int    `json:"protocol_version"`
	AgentVersion    string `json:"agent_version"`
	SHA256          string `json:"sha256"` // of the agent's own executable
	Path            string `json:"path"`
	GOOS            string `json:"goos"`
	GOARCH          string `json:"goarch"`
	UID             int    `json:"uid"`
	StateDir        string `json:"state_dir"`
}

// ---- facts ----

// FactsParams tunes fact gathering. The zero value uses Kong's defaults.
type FactsParams struct {
	KongBin   string   `json:"kong_bin,omitempty"`   // default: kong in PATH, else /usr/local/bin/kong
	KongConf  string   `json:"kong_conf,omitempty"`  // default: /etc/kong/kong.conf, then /etc/kong.conf
	DiskPaths []string `json:"disk_paths,omitempty"` // extra paths to report free space of
	Prefix    string   `json:"prefix,omitempty"`     // -p the controller passes kong
	// Manager, Unit and EnvFile say where Kong's service environment is
	// read (the agent's effective configuration): Manager "" detects as
	// facts does; EnvFile is the service's environment file on a
	// kong-cli node, read when Kong is not running (and required to exist
	// when named).
	Manager string `json:"manager,omitempty"`
	Unit    string `json:"unit,omitempty"`
	EnvFile string `json:"env_file,omitempty"`
}

// Facts is what the agent found on the node.
type Facts struct {
	Hostname       string      `json:"hostname"`
	OS             OSInfo      `json:"os"`
	Arch           string      `json:"arch"`            // uname machine, e.g. x86_64, aarch64
	PackageManager string      `json:"package_manager"` // apt, dnf, yum, rpm or ""
	Kong           KongInstall `json:"kong"`
	Service        ServiceInfo `json:"service"`
	Conf           KongConf    `json:"conf"`
	Disk           []DiskFree  `json:"disk"`
	Clock          time.Time   `json:"clock"` // the node's clock when facts were taken
	Warnings       []string    `json:"warnings,omitempty"`
}

// OSInfo is from /etc/os-release.
type OSInfo struct {
	ID         string   `json:"id"`
	IDLike     []string `json:"id_like,omitempty"`
	VersionID  string   `json:"version_id"`
	Codename   string   `json:"codename,omitempty"`
	PrettyName string   `json:"pretty_name"`
}

// Edition of Kong.
const (
	EditionOSS        = "oss"
	EditionEnterprise = "enterprise"
)

// KongInstall is the installed Kong, per the package database and the CLI.
type KongInstall struct {
	Installed      bool   `json:"installed"`
	Package        string `json:"package,omitempty"`         // kong, kong-enterprise-edition...
	PackageVersion string `json:"package_version,omitempty"` // as the package manager has it
	Edition        string `json:"edition,omitempty"`         // oss | enterprise
	Bin            string `json:"bin,omitempty"`
	Version        string `json:"version,omitempty"` // from `kong version`: 3.4.2 or 3.4.3.5
	VersionRaw     string `json:"version_raw,omitempty"`
	Held           bool   `json:"held,omitempty"` // apt-mark hold / versionlock
}

// Service managers.
const (
	ManagerSystemd = "systemd"
	ManagerKongCLI = "kong-cli"
)

// ServiceInfo says how Kong is run and whether it runs.
type ServiceInfo struct {
	Manager string `json:"manager"`        // systemd | kong-cli
	Unit    string `json:"unit,omitempty"` // kong.service or kong-enterprise-edition.service
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	PIDFile string `json:"pid_file,omitempty"`
}

// KongConf is the node's effective configuration: kong.conf with the
// KONG_* environment of Kong's service over it (kong-reference 3.2, 9.2;
// the agent's own environment is never used). pg_password is never
// returned.
type KongConf struct {
	Path          string     `json:"path,omitempty"` // "" when no conf file was found
	Prefix        string     `json:"prefix"`
	Role          string     `json:"role"`
	Plugins       string     `json:"plugins"`
	ProxyListen   string     `json:"proxy_listen"`
	AdminListen   string     `json:"admin_listen"`
	StatusListen  string     `json:"status_listen"`
	DB            DBSettings `json:"db"`
	HasPGPassword bool       `json:"has_pg_password"`
	// DBSources says where each database setting's effective value comes
	// from (database, pg_host, pg_port, pg_user, pg_database, pg_schema,
	// pg_password): "kong.conf <path>", "environment (<where>)" or
	// "default". EnvSource is where the service's environment was read
	// ("systemd unit kong.service", "process 1234", "file <path>"; "" none).
	DBSources map[string]string `json:"db_sources,omitempty"`
	EnvSource string            `json:"env_source,omitempty"`
	// EnvError says why the service's environment could not be read (a
	// unit unreadable, an EnvironmentFile missing): the node's effective
	// configuration is unknown, and preflight refuses it.
	EnvError       string `json:"env_error,omitempty"`
	UnknownEntries int    `json:"unknown_entries,omitempty"`
	// Enterprise RBAC (kong-reference 9.1): enforce_rbac (default off) and
	// the header the token goes in (rbac_auth_header).
	EnforceRBAC    string `json:"enforce_rbac,omitempty"`
	RBACAuthHeader string `json:"rbac_auth_header,omitempty"`
	// Konnect (kong-reference 9.6): konnect_mode and the control plane a
	// data plane connects to.
	KonnectMode         string `json:"konnect_mode,omitempty"`
	ClusterControlPlane string `json:"cluster_control_plane,omitempty"`
	// Keyring is the Enterprise keyring's settings (kong-reference 9.8).
	Keyring KeyringConf `json:"keyring"`
	// Entries are every `key = value` line of the file, in file order,
	// with its line number; the value of a secret key is never sent.
	Entries []ConfEntry `json:"entries,omitempty"`
}

// KeyringConf is the Enterprise keyring's effective settings: whether the
// key settings are set, never their values (paths, or PEM in base64).
type KeyringConf struct {
	Enabled     bool   `json:"enabled,omitempty"`  // keyring_enabled (default off)
	Strategy    string `json:"strategy,omitempty"` // keyring_strategy (default cluster)
	PublicKey   bool   `json:"public_key,omitempty"`
	PrivateKey  bool   `json:"private_key,omitempty"`
	RecoveryKey bool   `json:"recovery_public_key,omitempty"`
}

// ConfEntry is one `key = value` line of kong.conf (key lower-cased).
type ConfEntry struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"` // "" for secret keys (SecretConfKey)
	Line  int    `json:"line"`
}

// SecretConfKey says whether a kong.conf key holds a secret: its value
// never leaves the node (Kong's remove_sensitive list, kong-reference
// 9.2, anything named like a password, token, secret or key, and the
// Enterprise *_conf JSON settings, which carry session secrets and OIDC
// client secrets).
func SecretConfKey(key string) bool {
	switch key {
	case "proxy_server", "declarative_config_string", "license_data":
		return true
	}
	if strings.HasSuffix(key, "_conf") {
		return true
	}
	for _, w := range []string{"password", "secret", "token", "_key", "passphrase", "credential"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

// DBSettings are the database settings from kong.conf.
type DBSettings struct {
	Database string `json:"database"` // postgres | off
	Host     string `json:"pg_host"`
	Port     int    `json:"pg_port"`
	User     string `json:"pg_user"`
	Name     string `json:"pg_database"`
	Schema   string `json:"pg_schema"`
	SSL      bool   `json:"pg_ssl"`
}

// DiskFree is the free space of the file system holding Path.
type DiskFree struct {
	Path       string `json:"path"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
	Err        string `json:"error,omitempty"`
}

// ---- service ----

// ServiceParams drives service.stop and service.start.
type ServiceParams struct {
	Manager string `json:"manager,omitempty"` // systemd | kong-cli; "" = detect as facts does
	Unit    string `json:"unit,omitempty"`
	KongBin string `json:"kong_bin,omitempty"`
	Conf    string `json:"conf,omitempty"`   // kong.conf for start
	Prefix  string `json:"prefix,omitempty"` // default from conf, else /usr/local/kong
	// Version is the Kong version installed; `kong drain` runs first on
	// stop when it is 3.9 or newer. "" = ask `kong version`.
	Version string `json:"version,omitempty"`
	NoDrain bool   `json:"no_drain,omitempty"`
	// GraceTimeout bounds the graceful stop (kong quit -t / systemctl stop)
	// before a forced kill (default 30s).
	GraceTimeout time.Duration `json:"grace_timeout,omitempty"`
	// Ports that must be closed after stop and serving after start
	// (host:port). Default: from the conf's admin/status listen.
	Ports []string `json:"ports,omitempty"`
	// AdminURL and StatusURL are probed after start (default from conf).
	AdminURL  string `json:"admin_url,omitempty"`
	StatusURL string `json:"status_url,omitempty"`
	// StartTimeout bounds the wait for a started Kong to serve (default 60s).
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
	// AdminToken is sent as Kong-Admin-Token on the Admin API probes
	// (Enterprise RBAC). A secret: it travels in the request body only.
	AdminToken string `json:"admin_token,omitempty"`
	// EnvFile: see FactsParams.
	EnvFile string `json:"env_file,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ServiceParams) Secrets() []string { return []string{p.AdminToken} }

// ServiceResult is the state after stop or start.
type ServiceResult struct {
	Manager     string        `json:"manager"`
	Running     bool          `json:"running"`
	WasRunning  bool          `json:"was_running"`
	PID         int           `json:"pid,omitempty"`
	Drained     bool          `json:"drained,omitempty"`
	Forced      bool          `json:"forced,omitempty"` // stop had to kill
	OpenPorts   []string      `json:"open_ports,omitempty"`
	Health      *HealthResult `json:"health,omitempty"` // after start
	Steps       []string      `json:"steps"`            // the commands run, in order
	AlreadyDone bool          `json:"already_done,omitempty"`
}

// HealthParams drives the health op.
type HealthParams struct {
	KongBin   string        `json:"kong_bin,omitempty"`
	Conf      string        `json:"conf,omitempty"`
	Prefix    string        `json:"prefix,omitempty"`
	AdminURL  string        `json:"admin_url,omitempty"`  // default http://<admin_listen>/
	StatusURL string        `json:"status_url,omitempty"` // default http://<status_listen>/status/ready if status_listen is on
	Timeout   time.Duration `json:"timeout,omitempty"`    // per probe, default 5s
	// AdminToken is sent as Kong-Admin-Token on the Admin API probe.
	AdminToken string `json:"admin_token,omitempty"`
	// Manager, Unit, EnvFile: see FactsParams.
	Manager string `json:"manager,omitempty"`
	Unit    string `json:"unit,omitempty"`
	EnvFile string `json:"env_file,omitempty"`
}

// Secrets implements SecretHolder.
func (p *HealthParams) Secrets() []string { return []string{p.AdminToken} }

// HealthResult is the outcome of `kong health` and the HTTP probes.
type HealthResult struct {
	Healthy bool       `json:"healthy"` // CLI ok and every probe 2xx
	CLI     bool       `json:"cli"`
	CLIOut  string     `json:"cli_out,omitempty"`
	Admin   *HTTPProbe `json:"admin,omitempty"`
	Status  *HTTPProbe `json:"status,omitempty"`
	Version string     `json:"version,omitempty"` // from the Admin API GET /
	Edition string     `json:"edition,omitempty"`
	NodeID  string     `json:"node_id,omitempty"`
}

// HTTPProbe is one HTTP GET.
type HTTPProbe struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"` // first 1 KiB
	Err    string `json:"error,omitempty"`
}

// ---- packages ----

// Package sources.
const (
	SourceUpload = "upload" // the controller uploaded the file to UploadedPath
	SourceRepo   = "repo"   // apt-get download / dnf download
)

// StageParams stages a package file under <state>/packages.
type StageParams struct {
	Source       string `json:"source"`                  // upload | repo
	UploadedPath string `json:"uploaded_path,omitempty"` // for upload; moved (not copied) into place
	Package      string `json:"package,omitempty"`       // for repo: kong | kong-enterprise-edition
	Version      string `json:"version,omitempty"`       // for repo
	Manager      string `json:"manager,omitempty"`       // apt | dnf | yum; "" = detect
	SHA256       string `json:"sha256,omitempty"`        // required for upload; checked when set for repo
	FileName     string `json:"file_name,omitempty"`     // name under packages/ (default: base of the file)
}

// Validate checks the params.
func (p *StageParams) Validate() error {
	switch p.Source {
	case SourceUpload:
		if p.UploadedPath == "" || p.SHA256 == "" {
			return errors.New("upload needs uploaded_path and sha256")
		}
	case SourceRepo:
		if p.Package == "" || p.Version == "" {
			return errors.New("repo needs package and version")
		}
	default:
		return fmt.Errorf("source %q: want upload or repo", p.Source)
	}
	return nil
}

// StageResult is a staged package file.
type StageResult struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	AlreadyDone bool   `json:"already_done,omitempty"` // was staged before with the same hash
	// What the file holds, read from it after staging (dpkg-deb -W; rpm
	// -K --nosignature then rpm -qp): a file its tool rejects fails the
	// staging, before any downtime.
	Package        string `json:"package,omitempty"`
	PackageVersion string `json:"package_version,omitempty"` // deb Version, rpm VERSION-RELEASE
	// DepsMet: the installed packages meet the file's dependencies
	// (apt-get -s against dpkg's status alone, or rpm -U --test), so
	// dpkg -i / rpm -U alone can install it (InstallParams.Lean).
	// DepsDetail says why not.
	DepsMet    bool   `json:"deps_met,omitempty"`
	DepsDetail string `json:"deps_detail,omitempty"`
}

// InstallParams installs a staged package file.
type InstallParams struct {
	Path           string `json:"path"`                      // a staged file
	SHA256         string `json:"sha256,omitempty"`          // checked before install when set
	Manager        string `json:"manager,omitempty"`         // apt | dpkg | dnf | yum | rpm; "" = detect
	Package        string `json:"package,omitempty"`         // name to hold (default kong)
	AllowDowngrade bool   `json:"allow_downgrade,omitempty"` // dpkg/apt downgrade, rpm --oldpackage
	Hold           bool   `json:"hold,omitempty"`            // apt-mark hold / dnf versionlock
	ExpectVersion  string `json:"expect_version,omitempty"`  // `kong version` must print this
	KongBin        string `json:"kong_bin,omitempty"`
	// Lean installs a file whose dependencies staging found met
	// (StageResult.DepsMet) with dpkg -i (waiting for dpkg's lock) or
	// rpm -U --oldpackage --replacepkgs alone: no package database reads,
	// no hold (OpPackageHold sets it later), `kong version` checked once.
	// Should dpkg or rpm still find a dependency missing, the install
	// goes on with apt-get / dnf as without Lean.
	Lean bool `json:"lean,omitempty"`
	// Background runs the install at a lower CPU priority (nice 10): the
	// node's install is off the critical path of the downtime (another
	// node's migrations are on it), which matters where nodes share
	// hardware (VMs on one hypervisor, the lab).
	Background bool `json:"background,omitempty"`
}

// Validate checks the params.
func (p *InstallParams) Validate() error {
	if p.Path == "" {
		return errors.New("path missing")
	}
	return nil
}

// InstallResult is the outcome of an install.
type InstallResult struct {
	Method         string   `json:"method"` // the install command line
	Held           bool     `json:"held"`
	HoldMethod     string   `json:"hold_method,omitempty"`
	KongVersion    string   `json:"kong_version"`
	PackageVersion string   `json:"package_version,omitempty"`
	AlreadyDone    bool     `json:"already_done,omitempty"` // that version was installed already
	Warnings       []string `json:"warnings,omitempty"`
	// Lean: dpkg -i / rpm -U alone installed it (InstallParams.Lean, no
	// fallback to apt-get / dnf).
	Lean bool `json:"lean,omitempty"`
}

// HoldParams pins an installed package against automatic upgrades
// (dpkg's hold selection, else apt-mark hold; dnf/yum versionlock),
// apart from its install so that it runs after the fleet serves again.
type HoldParams struct {
	Package string `json:"package"`          // kong | kong-enterprise-edition
	Format  string `json:"format,omitempty"` // deb | rpm; "" = from the node's package manager
}

// Validate checks the params.
func (p *HoldParams) Validate() error {
	if p.Package == "" {
		return errors.New("package missing")
	}
	if p.Format != "" && p.Format != "deb" && p.Format != "rpm" {
		return fmt.Errorf("format %q: want deb or rpm", p.Format)
	}
	return nil
}

// HoldResult is the hold that was set.
type HoldResult struct {
	Method string `json:"method"` // dpkg --set-selections, apt-mark hold, dnf versionlock...
}

// ---- migrations ----

// Migration actions.
const (
	MigList   = "list"
	MigStatus = "status"
	MigUp     = "up"
	MigFinish = "finish"
)

// MigrationsParams runs `kong migrations <action>`.
type MigrationsParams struct {
	Action  string `json:"action"` // list | status | up | finish
	KongBin string `json:"kong_bin,omitempty"`
	Conf    string `json:"conf,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
	Force   bool   `json:"force,omitempty"` // -f
	// DBTimeout and LockTimeout are --db-timeout and --lock-timeout (0 = kong's default).
	DBTimeout   time.Duration `json:"db_timeout,omitempty"`
	LockTimeout time.Duration `json:"lock_timeout,omitempty"`
	// PGPassword, when set, is given to kong as KONG_PG_PASSWORD in its
	// environment (for a kong.conf that does not carry it).
	PGPassword string `json:"pg_password,omitempty"`
	// Manager, Unit, EnvFile: see FactsParams. The service's KONG_*
	// environment is given to kong in its environment, never in argv.
	Manager string `json:"manager,omitempty"`
	Unit    string `json:"unit,omitempty"`
	EnvFile string `json:"env_file,omitempty"`
}

// Secrets implements SecretHolder.
func (p *MigrationsParams) Secrets() []string { return []string{p.PGPassword} }

// Validate checks the params.
func (p *MigrationsParams) Validate() error {
	switch p.Action {
	case MigList, MigStatus, MigUp, MigFinish:
		return nil
	}
	return fmt.Errorf("action %q: want list, status, up or finish", p.Action)
}

// SubsystemMigrations is one subsystem's line of `kong migrations list`.
type SubsystemMigrations struct {
	Subsystem  string   `json:"subsystem"`
	Migrations []string `json:"migrations"`
}

// MigrationState is the schema state per `kong migrations list` (or
// status).
type MigrationState struct {
	NeedsBootstrap bool                  `json:"needs_bootstrap"`
	Executed       []SubsystemMigrations `json:"executed,omitempty"`
	Pending        []SubsystemMigrations `json:"pending,omitempty"`
	New            []SubsystemMigrations `json:"new,omitempty"`
	// ExitCode of `kong migrations list`: 0 up to date, 3 needs bootstrap,
	// 4 pending (with or without new), 5 new only. -1 from status.
	ExitCode int `json:"exit_code"`
}

// UpToDate: bootstrapped, nothing new and nothing pending.
func (s MigrationState) UpToDate() bool {
	return !s.NeedsBootstrap && len(s.New) == 0 && len(s.Pending) == 0
}

// MigrationsResult is the outcome of a migrations action.
type MigrationsResult struct {
	Action   string `json:"action"`
	ExitCode int    `json:"exit_code"` // of the action itself
	// State is the state after the action: parsed from list/status itself,
	// or from a `kong migrations list` run after up/finish.
	State MigrationState `json:"state"`
	// For up/finish: what the action printed, parsed.
	Processed    int  `json:"processed,omitempty"`
	ExecutedN    int  `json:"executed_n,omitempty"`
	PendingN     int  `json:"pending_n,omitempty"`
	AlreadyDone  bool `json:"already_done,omitempty"` // "Database is already up-to-date" / "No pending migrations to finish"
	NewAvailable bool `json:"new_available,omitempty"`
}

// ---- database ----

// DBConn says how to reach Kong's database.
type DBConn struct {
	Host     string        `json:"host"`
	Port     int           `json:"port,omitempty"` // default 5432
	User     string        `json:"user"`
	Password string        `json:"password,omitempty"`
	Database string        `json:"database"`
	Schema   string        `json:"schema,omitempty"`  // Kong's schema (pg_schema), default public
	SSLMode  string        `json:"sslmode,omitempty"` // libpq sslmode, default prefer
	BinDir   string        `json:"bin_dir,omitempty"` // where pg_dump/pg_restore live; default PATH, then /usr/lib/postgresql/*/bin
	Connect  time.Duration `json:"connect_timeout,omitempty"`
	// CACert is the PEM of the CA that signed the server's certificate
	// (database.ca_file, read on the bastion; public, not a secret). The
	// agent keeps it in a file of its state directory and names that file
	// to libpq (PGSSLROOTCERT) and to its own connections (sslrootcert).
	CACert string `json:"ca_cert,omitempty"`
}

// Secrets implements SecretHolder.
func (c DBConn) Secrets() []string { return []string{c.Password} }

// Validate checks the connection settings.
func (c DBConn) Validate() error {
	if c.Host == "" || c.User == "" || c.Database == "" {
		return errors.New("db needs host, user and database")
	}
	return nil
}

// FingerprintParams fingerprints Kong's tables.
type FingerprintParams struct {
	DB DBConn `json:"db"`
	// ExcludeTables are skipped besides `locks` (always excluded).
	ExcludeTables []string `json:"exclude_tables,omitempty"`
}

// Secrets implements SecretHolder.
func (p *FingerprintParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *FingerprintParams) Validate() error { return p.DB.Validate() }

// Fingerprint is a consistent hash of Kong's tables, taken in one
// REPEATABLE READ transaction: every table of the schema, rows sorted by
// primary key (by every column when there is none).
type Fingerprint struct {
	Schema  string           `json:"schema"`
	SHA256  string           `json:"sha256"`
	Tables  []TableSignature `json:"tables"`
	TakenAt time.Time        `json:"taken_at"`
}

// TableSignature is one table's row count and hash.
type TableSignature struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Fleet lock actions.
const (
	LockAcquire   = "acquire"
	LockHeartbeat = "heartbeat"
	LockRelease   = "release"
	LockInspect   = "inspect"
)

// FleetLockParams drives the fleet lock, a row in kongctl.fleet_lock.
type FleetLockParams struct {
	DB     DBConn `json:"db"`
	Action string `json:"action"`           // acquire | heartbeat | release | inspect
	Owner  string `json:"owner,omitempty"`  // who: user@bastion
	RunID  string `json:"run_id,omitempty"` // the run holding it
	// StaleAfter: a lock whose heartbeat is older is reported Stale (it is
	// never taken over automatically). Default 5m.
	StaleAfter time.Duration `json:"stale_after,omitempty"`
}

// Secrets implements SecretHolder.
func (p *FleetLockParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *FleetLockParams) Validate() error {
	if err := p.DB.Validate(); err != nil {
		return err
	}
	switch p.Action {
	case LockInspect:
	case LockAcquire, LockHeartbeat, LockRelease:
		if p.RunID == "" {
			return fmt.Errorf("%s needs run_id", p.Action)
		}
	default:
		return fmt.Errorf("action %q: want acquire, heartbeat, release or inspect", p.Action)
	}
	return nil
}

// FleetLock is the lock row.
type FleetLock struct {
	Owner       string        `json:"owner"`
	RunID       string        `json:"run_id"`
	AcquiredAt  time.Time     `json:"acquired_at"`
	HeartbeatAt time.Time     `json:"heartbeat_at"`
	Age         time.Duration `json:"age"` // since the last heartbeat, by the DB clock
	Stale       bool          `json:"stale"`
}

// FleetLockResult is the lock state after the action. Acquire when another
// run holds it fails with CodeLockHeld and Lock set to the holder.
type FleetLockResult struct {
	Held     bool       `json:"held"`               // a lock row exists after the action
	Mine     bool       `json:"mine"`               // held by RunID
	Acquired bool       `json:"acquired,omitempty"` // acquire created it (false: it was ours already)
	Released bool       `json:"released,omitempty"`
	Lock     *FleetLock `json:"lock,omitempty"`
}

// RunJournalParams upserts the run-journal summary row of a run in
// kongctl.runs.
type RunJournalParams struct {
	DB      DBConn `json:"db"`
	RunID   string `json:"run_id"`
	Owner   string `json:"owner,omitempty"`
	Phase   string `json:"phase"`
	Status  string `json:"status"`            // running | succeeded | failed | rolled_back...
	Summary string `json:"summary,omitempty"` // free text or JSON from the controller
}

// Secrets implements SecretHolder.
func (p *RunJournalParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *RunJournalParams) Validate() error {
	if err := p.DB.Validate(); err != nil {
		return err
	}
	if p.RunID == "" {
		return errors.New("run_id missing")
	}
	return nil
}

// RunJournalResult is the row after the upsert.
type RunJournalResult struct {
	RunID     string    `json:"run_id"`
	Phase     string    `json:"phase"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Backup formats.
const (
	FormatCustom    = "custom"    // pg_dump -Fc, one file
	FormatDirectory = "directory" // pg_dump -Fd
)

// BackupParams dumps Kong's schema.
type BackupParams struct {
	DB     DBConn `json:"db"`
	Dir    string `json:"dir,omitempty"`    // default <state>/backups
	Name   string `json:"name"`             // file (or directory) name under Dir
	Format string `json:"format,omitempty"` // custom (default) | directory
}

// Secrets implements SecretHolder.
func (p *BackupParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *BackupParams) Validate() error {
	if err := p.DB.Validate(); err != nil {
		return err
	}
	if !ValidStepID(p.Name) {
		return fmt.Errorf("backup name %q: want 1-64 of [A-Za-z0-9._-]", p.Name)
	}
	if p.Format != "" && p.Format != FormatCustom && p.Format != FormatDirectory {
		return fmt.Errorf("format %q: want custom or directory", p.Format)
	}
	return nil
}

// BackupResult is a finished dump. For the directory format, SHA256 is the
// hash of the sorted "sha256  name\n" lines of its files.
type BackupResult struct {
	Path        string       `json:"path"`
	Format      string       `json:"format"`
	Size        int64        `json:"size"`
	SHA256      string       `json:"sha256"`
	Fingerprint *Fingerprint `json:"fingerprint,omitempty"` // of the DB, taken in the dump's snapshot
	AlreadyDone bool         `json:"already_done,omitempty"`
}

// RestoreParams restores a dump into Kong's database: every object of
// Kong's schema is dropped first, then pg_restore --clean --if-exists.
type RestoreParams struct {
	DB     DBConn `json:"db"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"` // required: the dump is checked before anything is dropped
}

// Secrets implements SecretHolder.
func (p *RestoreParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *RestoreParams) Validate() error {
	if err := p.DB.Validate(); err != nil {
		return err
	}
	if p.Path == "" || p.SHA256 == "" {
		return errors.New("restore needs path and sha256")
	}
	return nil
}

// RestoreResult is the database after the restore.
type RestoreResult struct {
	Fingerprint Fingerprint `json:"fingerprint"`
}

// VerifyRestoreParams restores a dump into a scratch database, fingerprints
// it and drops it. The role needs CREATEDB (or AdminDB credentials).
type VerifyRestoreParams struct {
	DB     DBConn `json:"db"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Scratch is the scratch database name (default kongctl_verify_<rand>);
	// it must not exist.
	Scratch string `json:"scratch,omitempty"`
	// Admin, when set, is used to create and drop the scratch database.
	Admin *DBConn `json:"admin,omitempty"`
}

// Secrets implements SecretHolder.
func (p *VerifyRestoreParams) Secrets() []string {
	s := p.DB.Secrets()
	if p.Admin != nil {
		s = append(s, p.Admin.Secrets()...)
	}
	return s
}

// Validate checks the params.
func (p *VerifyRestoreParams) Validate() error {
	if err := p.DB.Validate(); err != nil {
		return err
	}
	if p.Path == "" || p.SHA256 == "" {
		return errors.New("verify-restore needs path and sha256")
	}
	return nil
}

// VerifyRestoreResult is the fingerprint of the restored scratch copy.
type VerifyRestoreResult struct {
	Scratch     string      `json:"scratch"`
	Fingerprint Fingerprint `json:"fingerprint"`
	Dropped     bool        `json:"dropped"`
}

// MigrationLockParams looks for Kong's own live migrations lock.
type MigrationLockParams struct {
	DB DBConn `json:"db"`
}

// Secrets implements SecretHolder.
func (p *MigrationLockParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *MigrationLockParams) Validate() error { return p.DB.Validate() }

// MigrationLockResult: Held when a row key='migrations' with ttl >= now()
// exists. NoTable when Kong's locks table does not exist (not bootstrapped).
type MigrationLockResult struct {
	Held    bool      `json:"held"`
	Owner   string    `json:"owner,omitempty"`
	TTL     time.Time `json:"ttl,omitzero"`
	NoTable bool      `json:"no_table,omitempty"`
}

// ---- exec / hooks ----

// ExecParams runs an operator command (a hook) with /bin/sh -c.
type ExecParams struct {
	Command string            `json:"command"`
	Dir     string            `json:"dir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// SecretEnv is added to the child's environment and redacted.
	SecretEnv map[string]string `json:"secret_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ExecParams) Secrets() []string {
	var s []string
	for _, v := range p.SecretEnv {
		s = append(s, v)
	}
	return s
}

// Validate checks the params.
func (p *ExecParams) Validate() error {
	if p.Command == "" {
		return errors.New("command missing")
	}
	return nil
}

// ExecResult is a finished command. A non-zero exit is not an op error;
// its tails are in the Reply and repeated here.
type ExecResult struct {
	ExitCode   int    `json:"exit_code"`
	StdoutTail string `json:"stdout_tail,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
}

// ---- detached steps ----

// Step states.
const (
	StepRunning = "running"
	StepDone    = "done"
	StepLost    = "lost" // its runner died without recording a reply
	StepUnknown = "unknown"
)

// StepStatus is the result of a Detach request: the step's state at once.
type StepStatus struct {
	StepID    string    `json:"step_id"`
	Op        Op        `json:"op"`
	State     string    `json:"state"`
	Started   bool      `json:"started"` // this request started it (false: it existed)
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// AttachParams waits for a detached step.
type AttachParams struct {
	StepID string        `json:"step_id"`
	Wait   time.Duration `json:"wait,omitempty"` // 0 = do not wait
}

// Validate checks the params.
func (p *AttachParams) Validate() error {
	if !ValidStepID(p.StepID) {
		return fmt.Errorf("invalid step_id %q", p.StepID)
	}
	return nil
}

// AttachResult is the step's state; Reply is its recorded reply once done.
// An unknown StepID is an error of code CodeNotFound.
type AttachResult struct {
	Status StepStatus `json:"status"`
	Reply  *Reply     `json:"reply,omitempty"`
}

// ---- HTTP on the node ----

// MaxHTTPBody bounds the body http.get returns. A larger body is an error,
// never cut short: a /metrics page read in part would hide counters from
// the gates.
const MaxHTTPBody = 8 << 20

// HTTPGetParams asks for one GET from the node itself, to Kong's own
// listeners: /metrics and /clustering/data-planes on the Admin API, a smoke
// request through the proxy. Like `curl -sk`: no proxy from the
// environment, no redirect followed, the certificate not verified (Kong's
// listeners carry its self-signed one).
type HTTPGetParams struct {
	URL     string        `json:"url"`
	Host    string        `json:"host,omitempty"`    // the Host header
	Timeout time.Duration `json:"timeout,omitempty"` // the whole exchange; default 10s
	Discard bool          `json:"discard,omitempty"` // read the body, return only its size
	// AdminToken, when set, is sent in TokenHeader (default
	// Kong-Admin-Token): an Admin API read on an Enterprise node with RBAC
	// enforced.
	AdminToken  string `json:"admin_token,omitempty"`
	TokenHeader string `json:"token_header,omitempty"`
	// Method is GET ("") or POST; a POST sends Form urlencoded (the
	// Enterprise keyring's /keyring/export and /keyring/import). The form
	// may hold key material: it counts as a secret.
	Method string            `json:"method,omitempty"`
	Form   map[string]string `json:"form,omitempty"`
}

// Secrets implements SecretHolder.
func (p *HTTPGetParams) Secrets() []string {
	out := []string{p.AdminToken}
	for _, v := range p.Form {
		out = append(out, v)
	}
	return out
}

// DefaultTokenHeader is the header of an Admin API token when
// rbac_auth_header is not set (kong-reference 9.1).
const DefaultTokenHeader = "Kong-Admin-Token"

// Validate checks the params.
func (p *HTTPGetParams) Validate() error {
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http(s)://host[:port]/path", p.URL)
	}
	if p.Timeout < 0 {
		return errors.New("negative timeout")
	}
	if p.Method != "" && p.Method != "GET" && p.Method != "POST" {
		return fmt.Errorf("method %q: want GET or POST", p.Method)
	}
	return nil
}

// HTTPGetResult is the answer to an http.get: any status is a result, not
// an error; a connection or read failure is an error.
type HTTPGetResult struct {
	Status  int           `json:"status"`
	Body    string        `json:"body,omitempty"` // the whole body, unless discarded
	Bytes   int64         `json:"bytes"`          // the body's size
	Latency time.Duration `json:"latency"`        // request sent to body read
}
