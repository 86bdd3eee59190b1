package fleet

import (
	"context"
	"io"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/upgradepath"
)

// AgentTimed is implemented by nodes whose agent reports its own duration
// of each operation (summed per operation since the node was connected).
type AgentTimed interface {
	AgentTimes() map[string]time.Duration
}

// Reconnector is implemented by connectors that can replace a host's lost
// connection in place (the SSH connector).
type Reconnector interface {
	Reconnect(ctx context.Context, host string) error
}

// DeliveryReporter is implemented by connectors that deliver an agent.
type DeliveryReporter interface{ AgentDelivery() AgentDelivery }

// Transport is what reaching the hosts cost a run, by the connector's
// own accounting: SSH sessions opened (a command each, an SFTP client
// each), agent processes started (a call each, a detached step each),
// bytes of agent uploaded; over every host reached, the tools host
// included, reconnections included.
type Transport struct {
	Hosts          int   `json:"hosts"`
	SSHSessions    int64 `json:"ssh_sessions"`
	AgentProcesses int64 `json:"agent_processes"`
	UploadedBytes  int64 `json:"agent_uploaded_bytes"`
}

// TransportReporter is implemented by connectors that account their
// SSH sessions and agent processes (the SSH connector).
type TransportReporter interface{ Transport() Transport }

// BackupStreamer is what an encrypted backup needs of the Database
// beyond Fetch: the dump as a stream (encrypted on its way to the
// bastion's disk) and a stream written back to the tools host for a
// restore (the runner's backupcrypt.go).
type BackupStreamer interface {
	// Stream writes the dump b on the tools host to w.
	Stream(ctx context.Context, b BackupInfo, w io.Writer) error
	// Put writes r to b.Path on the tools host, owner-only.
	Put(ctx context.Context, b BackupInfo, r io.Reader) error
}

// FileCopier reads and creates files named by path on a host, the
// content over the connection itself (never on a command line or in a
// log: it may be a private key). The rehearsal copies the files the
// fleet's kong.conf names to its host with it.
type FileCopier interface {
	// ReadFile returns the file at path.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// CreateFile writes b to path, owner-only, making its directory; it
	// never replaces a file: created is false when path existed.
	CreateFile(ctx context.Context, path string, b []byte) (created bool, err error)
}

// PGServerDB is the database's server facts (the agent database has it).
type PGServerDB interface {
	ServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error)
}

// TargetPGServerDB reads the dual-cluster's target server's facts, as
// PGServerDB X's (the agent database has it).
type TargetPGServerDB interface {
	TargetServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error)
}

// RowCounter is a Database that counts rows (the agent's db.row_counts).
type RowCounter interface {
	RowCounts(ctx context.Context, tables []string) (map[string]int64, error)
}

// TargetDB is a Database that restores a backup into a new database Y
// runs on (the dual-cluster strategy's target) and keeps it.
type TargetDB interface {
	// TargetState says whether the database name exists, whether it
	// holds Kong's tables, and whether it is empty.
	TargetState(ctx context.Context, name string) (TargetInfo, error)
	// RestoreTarget restores b into the database name, as how says:
	// created (it must not exist), replaced (dropped first; never the
	// Database's own), or into the existing empty one.
	RestoreTarget(ctx context.Context, b BackupInfo, name string, how TargetRestore) error
	// CanCreateTarget tells whether the role that restores the target
	// may create it on the target's server (X's, or another: the
	// inventory's target_database object), and why not.
	CanCreateTarget(ctx context.Context) (bool, string, error)
}

// TargetInfo is what TargetState finds of a target database.
type TargetInfo struct {
	Exists bool
	Kong   bool // it holds Kong's tables (schema_meta)
	// Empty: it exists and holds no table, view or sequence outside the
	// system schemas (one a DBA created for a role without CREATEDB).
	Empty bool
}

// TargetRestore is how RestoreTarget treats the target's name.
type TargetRestore string

const (
	TargetCreate    TargetRestore = "create"     // created; it must not exist
	TargetReplace   TargetRestore = "replace"    // dropped first when it exists (upgrade.replace_target_database)
	TargetIntoEmpty TargetRestore = "into-empty" // it exists, empty: restored into, neither created nor dropped
)

// ScratchDB is a Database that keeps a restored copy of a backup for a
// rehearsal (the agent's db.verify_restore with keep, and db.scratch).
// Names begin with agentproto.RehearsalPrefix.
type ScratchDB interface {
	// RestoreScratch restores b into the new database name and keeps it.
	RestoreScratch(ctx context.Context, b BackupInfo, name string) error
	// DropScratch drops the named scratch databases, or with all every
	// rehearsal scratch database, and returns those it dropped.
	DropScratch(ctx context.Context, names []string, all bool) ([]string, error)
	// CanCreateDB tells whether Kong's role may create a database, and
	// why not.
	CanCreateDB(ctx context.Context) (bool, string, error)
}

// ServiceEnvReader is a Node that reads its Kong service's KONG_*
// environment with the values, secrets included (the agent's
// service.env): the rehearsal carries the migration node's to the
// rehearsal host. The caller keeps the values in memory only, and hands
// them on only inside agent requests.
type ServiceEnvReader interface {
	ServiceEnv(ctx context.Context) (ServiceEnv, error)
}

// ServiceEnv is a node's service environment: where it was read ("" when
// nothing was) and its KONG_* variables.
type ServiceEnv struct {
	Source string
	Vars   agentproto.KongEnv
}

// KongEnvNode is a Node whose kong commands (facts, migrations, start,
// stop, health) can run under the kong CLI with an environment the
// controller gives instead of the host's own service environment: the
// rehearsal host running Y with the fleet's. The environment travels in
// request bodies only, never in argv or a file.
type KongEnvNode interface {
	WithKongEnv(env agentproto.KongEnv) Node
}
