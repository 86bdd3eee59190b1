package agentproto

import (
	"errors"
	"strings"
	"time"
)

// runtimeTables are the tables of Kong's schema that change on their own,
// without any configuration write: heartbeats, cache invalidations,
// counters, locks, sessions, tokens issued through the proxy, EE vitals
// and audit rows. kong-reference 9.5 ("Schema at 3.4: configuration
// versus runtime state": the runtime/churn, later runtime and EE runtime
// groups). A write check that proves a backup still holds every
// configuration write leaves them out, so runtime churn never makes the
// backup be taken again. This is the one list; IsRuntimeTable reads it.
var runtimeTables = map[string]bool{
	// core runtime / churn
	"cluster_events":                true,
	"clustering_data_planes":        true,
	"locks":                         true,
	"ratelimiting_metrics":          true,
	"response_ratelimiting_metrics": true,
	"sessions":                      true,
	"oauth2_tokens":                 true,
	"oauth2_authorization_codes":    true,
	"acme_storage":                  true,
	// later runtime tables (3.7, 3.9, 3.10)
	"clustering_rpc_requests": true,
	"clustering_sync_version": true,
	"session_metadatas":       true,
	// EE runtime (vitals_* by prefix below)
	"rl_counters":               true,
	"audit_requests":            true,
	"audit_objects":             true,
	"login_attempts":            true,
	"consumer_reset_secrets":    true,
	"license_data":              true,
	"workspace_entity_counters": true,
	"ws_migrations_backup":      true,
}

// runtimeTablePrefix: EE's vitals_stats_seconds, vitals_codes_by_route,
// vitals_node_meta, vitals_locks... (kong-reference 9.5, EE runtime).
const runtimeTablePrefix = "vitals_"

// IsRuntimeTable says whether table is one of Kong's runtime tables
// (kong-reference 9.5), left out of the configuration write check.
func IsRuntimeTable(table string) bool {
	return runtimeTables[table] || strings.HasPrefix(table, runtimeTablePrefix)
}

// WriteSignatureParams asks for the write signature of Kong's
// configuration tables.
type WriteSignatureParams struct {
	DB DBConn `json:"db"`
	// Settle bounds the wait until no other client is connected to Kong's
	// database (whose backends flush their statistics when they exit).
	// 0 reads at once and returns Settled=false when others are connected:
	// good enough for a baseline, whose unflushed counts can only show as a
	// change later (a false positive), never hide one.
	Settle time.Duration `json:"settle,omitempty"`
	// EndFrom are the addresses (IPs or host names) of the Kong nodes
	// stopped for the window. A backend still connected from one of them
	// has no client left (a query the node started before its stop runs
	// on until it tries to send its rows): it is ended before the wait, so
	// it exits and flushes its counts at once. Empty: none is ended.
	EndFrom []string `json:"end_from,omitempty"`
}

// Secrets implements SecretHolder.
func (p *WriteSignatureParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *WriteSignatureParams) Validate() error {
	if p.Settle < 0 {
		return errors.New("negative settle")
	}
	return p.DB.Validate()
}

// WriteSignature is a summary of the writes to Kong's configuration tables
// whose cost does not depend on the row count: per table its relfilenode
// (changes on TRUNCATE and on a rewrite) and its cumulative n_tup_ins,
// n_tup_upd and n_tup_del (aborted transactions counted too), read from
// pg_class and pg_stat_user_tables. Runtime tables (IsRuntimeTable) and
// kongctl's own schema are left out; a table added or dropped shows.
//
// Usable is false when the counters cannot be trusted at all (PostgreSQL
// before 15, whose statistics collector may drop messages, or
// track_counts off); Note says why and Tables is empty. Settled says no
// other client backend was connected to Kong's database when the counters
// were read: every write committed before then has reached them (a
// backend flushes its counts when it exits, before it leaves
// pg_stat_activity). Others lists the connected clients otherwise.
type WriteSignature struct {
	Schema  string            `json:"schema"`
	Usable  bool              `json:"usable"`
	Settled bool              `json:"settled"`
	Tables  map[string]string `json:"tables,omitempty"` // table -> "relfilenode ins upd del"
	// Server is what invalidates the counters as a whole: the postmaster's
	// start time and the database's statistics reset time.
	Server string `json:"server,omitempty"`
	// Transactions is the database's committed plus rolled-back
	// transactions (pg_stat_database): it only grows, unless the
	// statistics were reset, as crash recovery does without changing
	// Server. A smaller number than the baseline's means the table
	// counters started over.
	Transactions int64         `json:"transactions"`
	Excluded     []string      `json:"excluded,omitempty"` // runtime tables present and left out
	Others       []string      `json:"others,omitempty"`   // other clients still connected (application@address)
	Waited       time.Duration `json:"waited"`             // spent waiting for them to leave
	Ended        []string      `json:"ended,omitempty"`    // backends of stopped nodes ended (application@address)
	Note         string        `json:"note,omitempty"`
	TakenAt      time.Time     `json:"taken_at"`
}
