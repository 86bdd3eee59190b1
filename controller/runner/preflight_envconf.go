package runner

import (
	"fmt"
	"strconv"

	"github.com/kongctl/kongctl/controller/fleet"
)

// checkEffectiveConf refuses, before any stop, a node whose effective
// configuration could not be read (its systemd unit unreadable, an
// EnvironmentFile or the inventory's service_env_file missing): kong
// migrations and start would then run on other settings than Kong serves
// with, another database or the defaults (kong-reference 9.2).
func (e *engine) checkEffectiveConf(pf *preflightData) {
	for _, h := range append(append([]string(nil), e.spec.Nodes...), e.spec.Spares...) {
		f, ok := pf.Facts[h]
		if !ok || f.EnvError == "" {
			continue
		}
		e.find(Finding{Severity: SevError, Code: "effective-config", Host: h,
			Message: "the node's effective configuration cannot be read: " + e.red.redact(f.EnvError),
			Fix:     "make the Kong service's environment readable on the node (the unit's EnvironmentFile= files, or the inventory's upgrade.service_env_file), or fix the path in the inventory"})
	}
}

// checkEffectiveDB refuses a node whose effective database is not the
// inventory's: kongctl backs up, fingerprints and locks the inventory's
// database, while the node's kong (its migrations included) works on the
// one its effective configuration names. A different host name is only a
// warning: it may be the same server under another name.
func (e *engine) checkEffectiveDB(pf *preflightData) {
	db := e.spec.DB
	if db.Name == "" {
		return
	}
	for _, h := range e.spec.Nodes {
		f, ok := pf.Facts[h]
		if !ok || len(f.DB) == 0 || f.EnvError != "" {
			continue
		}
		eff := map[string]fleet.ConfSetting{}
		for _, s := range f.DB {
			eff[s.Key] = s
		}
		if eff["database"].Value == "off" {
			continue
		}
		want := map[string]string{"pg_database": db.Name, "pg_port": strconv.Itoa(db.Port), "pg_schema": db.Schema}
		for _, k := range []string{"pg_database", "pg_port", "pg_schema"} {
			if s, ok := eff[k]; ok && want[k] != "" && want[k] != "0" && s.Value != want[k] {
				e.find(Finding{Severity: SevError, Code: "db-mismatch", Host: h,
					Message: fmt.Sprintf("the node's effective %s is %s (%s), the inventory's database is %s: kongctl would back up one database and migrate another", k, s.Value, s.Source, want[k]),
					Fix:     "point the inventory's database block at the database the nodes serve from, or fix the node's configuration"})
			}
		}
		if s, ok := eff["pg_host"]; ok && db.Host != "" && s.Value != db.Host {
			e.find(Finding{Severity: SevWarning, Code: "db-host", Host: h,
				Message: fmt.Sprintf("the node's effective pg_host is %s (%s), the inventory's database host is %s: make sure both name the same server", s.Value, s.Source, db.Host)})
		}
	}
}
