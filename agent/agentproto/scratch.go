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
}
