package agentproto

import (
	"errors"
	"fmt"
	"time"
)

// ---- packages ----

// Package sources.
const (
	SourceUpload = "upload" // the controller uploaded the file to UploadedPath
	SourceRepo   = "repo"   // apt-get download / dnf download
	// SourceStaged: the file an earlier staging left under packages/
	// (FileName), if it still has SHA256; CodeNotFound or
	// CodeChecksumMismatch when not, and the controller uploads it. A
	// resumed run or a later `kongctl rollback` does not send again what
	// the node holds.
	SourceStaged = "staged"
)

// StageParams stages a package file under <state>/packages.
type StageParams struct {
	Source       string `json:"source"`                  // upload | repo | staged
	UploadedPath string `json:"uploaded_path,omitempty"` // for upload; moved (not copied) into place
	Package      string `json:"package,omitempty"`       // for repo: kong | kong-enterprise-edition
	Version      string `json:"version,omitempty"`       // for repo
	Manager      string `json:"manager,omitempty"`       // apt | dnf | yum; "" = detect
	SHA256       string `json:"sha256,omitempty"`        // required for upload and staged; checked when set for repo
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
	case SourceStaged:
		if p.FileName == "" || p.SHA256 == "" {
			return errors.New("staged needs file_name and sha256")
		}
	default:
		return fmt.Errorf("source %q: want upload, repo or staged", p.Source)
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
func (p *HoldParams) Validate() error { return validPackage(p.Package, p.Format) }

// validPackage checks an installed package's name and format ("" = the
// node's package manager decides).
func validPackage(name, format string) error {
	if name == "" {
		return errors.New("package missing")
	}
	if format != "" && format != "deb" && format != "rpm" {
		return fmt.Errorf("format %q: want deb or rpm", format)
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
	// KongEnv: see KongEnv.
	KongEnv KongEnv `json:"kong_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *MigrationsParams) Secrets() []string {
	return append([]string{p.PGPassword}, p.KongEnv.Secrets()...)
}

// Validate checks the params.
func (p *MigrationsParams) Validate() error {
	if err := validateKongEnv(p.KongEnv, p.Manager); err != nil {
		return err
	}
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
