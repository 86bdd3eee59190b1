package upgradepath

import (
	"strings"

	"github.com/kongctl/kongctl/kongver"
)

// ConfIssue is one kong.conf setting that breaks (or changes meaning) on
// the target version.
type ConfIssue struct {
	Key      string
	Value    string // the offending value; never set for secret keys
	Severity string // "error" stops the upgrade, "warning" does not
	Message  string
	Fix      string
}

// CheckConf reports known kong.conf (or KONG_* environment) settings whose
// value breaks when moving from `from` to `to`; the properties removed or
// renamed are in ConfRules. conf holds parsed key→value pairs;
// keys are lower-case kong.conf names.
func CheckConf(conf map[string]string, from, to kongver.Version) []ConfIssue {
	var out []ConfIssue
	get := func(k string) (string, bool) {
		v, ok := conf[k]
		return strings.TrimSpace(v), ok
	}
	if v, ok := get("pg_ssl_version"); ok && to.AtLeast(3, 2) && strings.EqualFold(v, "tlsv1") {
		out = append(out, ConfIssue{
			Key: "pg_ssl_version", Value: v, Severity: "error",
			Message: "pg_ssl_version = tlsv1 is no longer valid from 3.2",
			Fix:     "set pg_ssl_version = tlsv1_2 (or tlsv1_3 / any) in kong.conf before upgrading",
		})
	}
	if v, ok := get("database"); ok && strings.EqualFold(v, "cassandra") && to.AtLeast(3, 4) {
		out = append(out, ConfIssue{
			Key: "database", Value: v, Severity: "error",
			Message: "Cassandra support was removed in 3.4.0",
			Fix:     "migrate the cluster to PostgreSQL before upgrading to 3.4 or later",
		})
	}
	if v, ok := get("status_listen"); (!ok || v == "") && !from.AtLeast(3, 6) && to.AtLeast(3, 6) {
		out = append(out, ConfIssue{
			Key: "status_listen", Severity: "warning",
			Message: "status_listen defaults to 127.0.0.1:8007 from 3.6 (it was off); the port must be free",
			Fix:     "set status_listen explicitly if 8007 is in use",
		})
	}
	return out
}
