package agentproto

import (
	"errors"
	"fmt"
	"time"
)

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
	// Keep leaves the restored scratch database in place for a rehearsal
	// (Scratch is then a RehearsalPrefix name); it is dropped on failure,
	// otherwise by db.scratch.
	Keep bool `json:"keep,omitempty"`
	// Target keeps the restored database as a dual-cluster's target (Y
	// runs on it): any plain lower-case identifier, not only a rehearsal
	// name; Keep must be set too.
	Target bool `json:"target,omitempty"`
	// Replace drops the target database first when it exists (the
	// inventory's replace_target_database); Target must be set, and the
	// target is never DB's own database.
	Replace bool `json:"replace,omitempty"`
	// Existing restores into the target database Scratch that exists
	// already, empty (a DBA created it for a role without CREATEDB): it
	// is neither created nor dropped, and refused when it holds a table,
	// view or sequence outside the system schemas. Target must be set,
	// Replace not.
	Existing bool `json:"existing,omitempty"`
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
	if p.Target {
		if !p.Keep || !IsTargetName(p.Scratch) {
			return fmt.Errorf("verify-restore keeps a target database under a plain lower-case name, not %q", p.Scratch)
		}
		if p.Replace && p.Scratch == p.DB.Database {
			return fmt.Errorf("verify-restore replaces the target database %q: it is the database the connection names, never replaced", p.Scratch)
		}
		if p.Existing && (p.Replace || p.Scratch == p.DB.Database) {
			return fmt.Errorf("verify-restore restores into the existing target database %q only when it is not replaced and not the database the connection names", p.Scratch)
		}
		return nil
	}
	if p.Replace || p.Existing {
		return errors.New("verify-restore replaces only a target database")
	}
	if p.Keep && !IsRehearsalScratch(p.Scratch) {
		return fmt.Errorf("verify-restore keeps only a rehearsal scratch database (%s...), not %q", RehearsalPrefix, p.Scratch)
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
