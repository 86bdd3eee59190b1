package agentproto

import (
	"fmt"
	"regexp"
	"strings"
)

// ---- db.scratch: the rehearsal's scratch databases ----

// OpScratch drops scratch databases (named, or all rehearsal ones) and
// tells whether the connection's role may create one.
const OpScratch Op = "db.scratch"

// RehearsalPrefix begins the name of every rehearsal scratch database
// (kongctl_rehearsal_<runid>): recognisable, so cleanup can find leftovers.
const RehearsalPrefix = "kongctl_rehearsal_"

func init() {
	Ops[OpScratch] = OpInfo{func() any { return new(ScratchParams) }, func() any { return new(ScratchResult) }}
}

// ScratchParams: Drop names scratch databases to drop (if they exist);
// DropAll drops every database whose name begins with RehearsalPrefix;
// CheckCreate asks whether the role may create databases.
type ScratchParams struct {
	DB          DBConn   `json:"db"`
	Drop        []string `json:"drop,omitempty"`
	DropAll     bool     `json:"drop_all,omitempty"`
	CheckCreate bool     `json:"check_create,omitempty"`
	// Probe names a database whose existence, and whether it holds Kong's
	// tables (schema_meta), the reply tells (a dual-cluster's target).
	Probe string `json:"probe,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ScratchParams) Secrets() []string { return p.DB.Secrets() }

var scratchName = regexp.MustCompile(`^kongctl_(rehearsal|verify)_[a-z0-9_]{1,40}$`)

// Validate checks the params: only kongctl's own scratch names may be dropped.
func (p *ScratchParams) Validate() error {
	for _, n := range p.Drop {
		if !scratchName.MatchString(n) {
			return fmt.Errorf("drop %q: not a kongctl scratch database name", n)
		}
	}
	if p.Probe != "" && !IsTargetName(p.Probe) {
		return fmt.Errorf("probe %q: not a plain lower-case database name", p.Probe)
	}
	return p.DB.Validate()
}

// IsRehearsalScratch reports whether name is a rehearsal scratch database's.
func IsRehearsalScratch(name string) bool {
	return strings.HasPrefix(name, RehearsalPrefix) && scratchName.MatchString(name)
}

// ScratchResult lists the databases dropped; CanCreate answers
// CheckCreate (CreateReason says why not).
type ScratchResult struct {
	Dropped      []string `json:"dropped,omitempty"`
	CanCreate    bool     `json:"can_create,omitempty"`
	CreateReason string   `json:"create_reason,omitempty"`
	// ProbeExists and ProbeKong answer Probe.
	ProbeExists bool `json:"probe_exists,omitempty"`
	ProbeKong   bool `json:"probe_kong,omitempty"`
	// ProbeEmpty: the probed database exists and holds no table, view
	// or sequence outside the system schemas.
	ProbeEmpty bool `json:"probe_empty,omitempty"`
}

var targetName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// IsTargetName reports whether name is a database name kongctl may
// create for a dual-cluster's Y: a plain lower-case identifier.
func IsTargetName(name string) bool { return targetName.MatchString(name) }
