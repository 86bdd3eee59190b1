package fleet

import (
	"slices"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// WriteSignature is the write counters of Kong's configuration tables
// (agentproto.WriteSignature).
type WriteSignature struct {
	// Usable is false when the server's counters cannot prove anything
	// (PostgreSQL before 15, track_counts off): Note says why.
	Usable bool `json:"usable"`
	// Settled: no other client was connected to Kong's database when the
	// counters were read, so every committed write is in them.
	Settled bool              `json:"settled"`
	Tables  map[string]string `json:"tables,omitempty"` // table -> "relfilenode ins upd del"
	// Server changes when the server restarts or its statistics are reset
	// by hand; Transactions (the database's transaction count) only grows
	// unless the statistics start over, as after crash recovery.
	Server       string        `json:"server,omitempty"`
	Transactions int64         `json:"transactions,omitempty"`
	Others       []string      `json:"others,omitempty"` // clients still connected
	Waited       time.Duration `json:"waited,omitempty"`
	Ended        []string      `json:"ended,omitempty"` // connections of stopped nodes ended
	Note         string        `json:"note,omitempty"`
}

// ChangedTables lists, sorted, the tables whose counters differ (a table
// added or dropped included).
func (s WriteSignature) ChangedTables(later WriteSignature) []string {
	return changedKeys(s.Tables, later.Tables, nil)
}

// ConfigChanged lists, sorted, the configuration tables whose fingerprint
// differs: runtime tables are left out.
func ConfigChanged(before, after Fingerprint) []string {
	return changedKeys(before.Tables, after.Tables, agentproto.IsRuntimeTable)
}

func changedKeys(a, b map[string]string, skip func(string) bool) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; (!ok || w != v) && (skip == nil || !skip(k)) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && (skip == nil || !skip(k)) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
