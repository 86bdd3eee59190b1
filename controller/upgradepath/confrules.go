package upgradepath

import (
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/kongver"
)

// ConfKind is what Y does with a kong.conf property set on X.
type ConfKind string

// Kinds of ConfRule (kong-reference 9.3 "What Kong does with each kind").
const (
	// ConfRemoved: Y no longer has the key in kong_defaults and drops it
	// without a word, in `kong check` and `kong start` alike, so the
	// setting silently stops applying after the upgrade.
	ConfRemoved ConfKind = "removed"
	// ConfRenamed: Y accepts the key as a deprecated alias of Replacement
	// and warns only at `kong start` (never under systemd's `kong
	// prepare`); it goes away in a later release.
	ConfRenamed ConfKind = "renamed"
	// ConfInvalid: Y refuses the value; `kong check`, `prepare` and `start`
	// fail with `<key> has an invalid value`.
	ConfInvalid ConfKind = "invalid-value"
	// ConfNginx: an nginx_<block>_<directive> key whose directive Y's nginx
	// does not know; `kong check` passes, `kong prepare`/`start` fail at
	// nginx's configuration test, inside the downtime.
	ConfNginx ConfKind = "nginx-directive"
)

// ConfRule is one kong.conf property removed, renamed or restricted
// between two Kong releases.
type ConfRule struct {
	// Key is the property; ending in "_" it is a prefix (cassandra_).
	// ConfNginx rules match nginx_<any block>_<Directive> and leave it "".
	Key string
	// Gone is the first release series (major.minor) that behaves as
	// Kind says; the rule applies to an upgrade X → Y with X < Gone <= Y
	// (ConfRenamed: with Y >= Gone, whatever X).
	Gone        string
	Enterprise  bool // only Kong Gateway Enterprise has the key
	Kind        ConfKind
	Replacement string   // the property to set instead; "" when none
	Values      []string // ConfInvalid: the values Y refuses
	Directive   string   // ConfNginx: the nginx directive
	Source      string
}

// nginxBlocks are Kong's dynamic nginx_<block>_ namespaces
// (conf_loader/init.lua 3.4.0 L163-253, DYNAMIC_KEY_NAMESPACES).
var nginxBlocks = []string{"main", "events", "http", "upstream", "proxy", "status", "admin", "stream", "supstream", "sproxy", "wasm"}

const (
	src28to34   = "kong-reference 9.3 'Removed 2.8 → 3.4' (kong_defaults.lua 2.8.0 vs 3.4.0; CHANGELOG 3.0.0)"
	srcAlias28  = "kong-reference 9.3 alias table (conf_loader 2.8.0 CONF_PARSERS, deprecated 2.x alias gone in 3.0)"
	src34to310  = "kong-reference 9.3 'Removed 3.4 → 3.10 / 3.14'"
	srcEE34to10 = "kong-reference 9.3 (kong-conf 3.4.json vs 3.10.json, lts-changes-34-310.md); gone with Dev Portal/Vitals/granular tracing in EE 3.5 (inference: 9.3 gives only the 3.4 → 3.10 diff)"
)

// ConfRules is kongctl's table of kong.conf properties removed or renamed
// between Kong releases. Kong's own `kong check`/`kong prepare` of Y, run
// in preflight on each node, catch what Y refuses that this table misses;
// the table is what catches the keys Y drops silently.
var ConfRules = []ConfRule{
	// 2.8 → 3.0.
	{Key: "go_plugins_dir", Gone: "3.0", Kind: ConfRemoved, Replacement: "pluginserver_names", Source: src28to34},
	{Key: "go_pluginserver_exe", Gone: "3.0", Kind: ConfRemoved, Replacement: "pluginserver_names", Source: src28to34},
	{Key: "nginx_optimizations", Gone: "3.0", Kind: ConfRemoved, Source: src28to34},
	{Key: "upstream_keepalive", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_pool_size", Source: srcAlias28},
	{Key: "nginx_upstream_keepalive", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_pool_size", Source: srcAlias28},
	{Key: "nginx_upstream_keepalive_requests", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_max_requests", Source: srcAlias28},
	{Key: "nginx_upstream_keepalive_timeout", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_idle_timeout", Source: srcAlias28},
	{Key: "nginx_http_upstream_keepalive", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_pool_size", Source: srcAlias28},
	{Key: "nginx_http_upstream_keepalive_requests", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_max_requests", Source: srcAlias28},
	{Key: "nginx_http_upstream_keepalive_timeout", Gone: "3.0", Kind: ConfRemoved, Replacement: "upstream_keepalive_idle_timeout", Source: srcAlias28},
	{Key: "client_max_body_size", Gone: "3.0", Kind: ConfRemoved, Replacement: "nginx_http_client_max_body_size", Source: srcAlias28},
	{Key: "client_body_buffer_size", Gone: "3.0", Kind: ConfRemoved, Replacement: "nginx_http_client_body_buffer_size", Source: srcAlias28},
	{Key: "data_plane_config_cache_mode", Gone: "3.0", Enterprise: true, Kind: ConfRemoved, Source: src28to34 + "; the release inside 3.0-3.4 is not in 9.3"},
	{Key: "data_plane_config_cache_path", Gone: "3.0", Enterprise: true, Kind: ConfRemoved, Source: src28to34 + "; the release inside 3.0-3.4 is not in 9.3"},
	{Key: "admin_api_uri", Gone: "3.0", Enterprise: true, Kind: ConfRenamed, Replacement: "admin_gui_api_url", Source: "kong-reference 9.3 alias table (EE conf_loader L103-110)"},
	// 3.2: OpenTelemetry tracing renamed.
	{Key: "opentelemetry_tracing", Gone: "3.2", Kind: ConfRenamed, Replacement: "tracing_instrumentations", Source: "kong-reference 9.3 alias table (conf_loader 3.4.0 L560-580)"},
	{Key: "opentelemetry_tracing_sampling_rate", Gone: "3.2", Kind: ConfRenamed, Replacement: "tracing_sampling_rate", Source: "kong-reference 9.3 alias table (conf_loader 3.4.0 L560-580)"},
	// 3.4: Cassandra.
	{Key: "cassandra_", Gone: "3.4", Kind: ConfRemoved, Source: src28to34 + " ('3.4: all cassandra_*')"},
	// 3.5.
	{Key: "privileged_agent", Gone: "3.5", Kind: ConfRemoved, Replacement: "dedicated_config_processing", Source: src34to310 + " (the alias entry is named privileged_worker; CHANGELOG 3.5.0)"},
	{Key: "admin_gui_origin", Gone: "3.5", Kind: ConfRemoved, Source: src34to310 + " ('admin_gui_origin (now internal)')"},
	// 3.6: OpenResty 1.25.3.1 (nginx 1.25.1 dropped the "ssl" directive).
	{Directive: "ssl", Gone: "3.6", Kind: ConfNginx, Replacement: "the ssl flag of the *_listen setting", Source: "nginx CHANGES 1.25.1 ('the deprecated \"ssl\" directive is not supported anymore'); Kong changelog/3.6.0 bump-openresty.yml (OpenResty 1.21.4.2 → 1.25.3.1); kong-reference 9.2 (nginx_<block>_* fail at nginx -t)"},
	// EE 3.4 → 3.10.
	{Key: "portal", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "portal_", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "vitals", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "vitals_", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "tracing", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Replacement: "tracing_instrumentations", Source: srcEE34to10},
	{Key: "tracing_write_strategy", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "tracing_write_endpoint", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "tracing_time_threshold", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "tracing_types", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "tracing_debug_header", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "generate_trace_details", Gone: "3.5", Enterprise: true, Kind: ConfRemoved, Source: srcEE34to10},
	{Key: "pg_ssl_version", Gone: "3.10", Enterprise: true, Kind: ConfInvalid, Values: []string{"tlsv1", "tlsv1_0", "tlsv1_1"}, Replacement: "pg_ssl_version = tlsv1_2", Source: src34to310 + " (EE tree conf_loader L230: tlsv1_2|tlsv1_3|any)"},
	// EE 3.10 → 3.14.
	{Key: "wasm", Gone: "3.14", Kind: ConfRemoved, Source: src34to310 + " ('EE 3.10 → 3.14: wasm ... removed', 3.14.json)"},
	{Key: "wasm_filters", Gone: "3.14", Kind: ConfRemoved, Source: src34to310 + " (3.14.json)"},
	{Key: "wasm_filters_path", Gone: "3.14", Kind: ConfRemoved, Source: src34to310 + " (3.14.json)"},
}

// ConfEntry is one `key = value` line of a node's kong.conf.
type ConfEntry struct {
	Key   string
	Value string // "" for secret keys (the agent never sends them)
	Line  int
}

// ConfFinding is one entry a ConfRule matched.
type ConfFinding struct {
	Rule  ConfRule
	Entry ConfEntry
}

// Message says what Y does with the entry (one line, no value of a
// secret).
func (f ConfFinding) Message(to kongver.Version) string {
	r, e := f.Rule, f.Entry
	switch r.Kind {
	case ConfRemoved:
		return fmt.Sprintf("%s was removed in Kong %s: %s drops it without a word, so the setting silently stops applying after the upgrade", e.Key, r.Gone, to)
	case ConfRenamed:
		return fmt.Sprintf("%s is deprecated since Kong %s in favour of %s: %s still applies it but warns only at `kong start`, and a later release drops it", e.Key, r.Gone, r.Replacement, to)
	case ConfInvalid:
		return fmt.Sprintf("%s = %s is refused from Kong %s: `kong check`, `kong prepare` and `kong start` of %s fail with \"%s has an invalid value\"", e.Key, e.Value, r.Gone, to, e.Key)
	case ConfNginx:
		return fmt.Sprintf("%s injects the nginx directive %q, which the nginx of Kong %s (from %s) does not know: `kong check` passes, but `kong prepare`/`kong start` fail at nginx's configuration test, inside the downtime", e.Key, r.Directive, to, r.Gone)
	}
	return e.Key + ": " + string(r.Kind)
}

// Fix says what to change in kong.conf.
func (f ConfFinding) Fix() string {
	r, e := f.Rule, f.Entry
	switch {
	case r.Kind == ConfInvalid:
		return fmt.Sprintf("set %s before the upgrade", r.Replacement)
	case r.Kind == ConfNginx:
		return fmt.Sprintf("remove %s from kong.conf before the upgrade (use %s instead)", e.Key, r.Replacement)
	case r.Replacement != "":
		return fmt.Sprintf("replace %s with %s in kong.conf (or list %s in preflight { accept = [...] } to go on as it is)", e.Key, r.Replacement, e.Key)
	}
	return fmt.Sprintf("remove %s from kong.conf (or list it in preflight { accept = [...] } to go on as it is)", e.Key)
}

// Applies says whether r concerns the upgrade from → to of edition
// (EditionOSS or EditionEnterprise).
func (r ConfRule) Applies(from, to kongver.Version, edition string) bool {
	if r.Enterprise && edition != EditionEnterprise {
		return false
	}
	gone, err := kongver.ParseSeries(r.Gone)
	if err != nil || !to.AtLeast(gone.Major, gone.Minor) {
		return false
	}
	return r.Kind == ConfRenamed || !from.AtLeast(gone.Major, gone.Minor)
}

// Matches says whether r concerns the entry e.
func (r ConfRule) Matches(e ConfEntry) bool {
	key := strings.ToLower(e.Key)
	switch {
	case r.Kind == ConfNginx:
		rest, ok := strings.CutPrefix(key, "nginx_")
		if !ok {
			return false
		}
		for _, b := range nginxBlocks {
			if d, ok := strings.CutPrefix(rest, b+"_"); ok && d == r.Directive {
				return true
			}
		}
		return false
	case strings.HasSuffix(r.Key, "_"):
		if !strings.HasPrefix(key, r.Key) {
			return false
		}
	case key != r.Key:
		return false
	}
	if r.Kind == ConfInvalid {
		v := strings.ToLower(strings.TrimSpace(e.Value))
		for _, bad := range r.Values {
			if v == bad {
				return true
			}
		}
		return false
	}
	return true
}

// CheckConfEntries applies ConfRules to a node's kong.conf entries for the
// upgrade from → to, in file order; one finding per entry (the first rule
// that matches it).
func CheckConfEntries(entries []ConfEntry, from, to kongver.Version, edition string) []ConfFinding {
	var rules []ConfRule
	for _, r := range ConfRules {
		if r.Applies(from, to, edition) {
			rules = append(rules, r)
		}
	}
	var out []ConfFinding
	for _, e := range entries {
		for _, r := range rules {
			if r.Matches(e) {
				out = append(out, ConfFinding{Rule: r, Entry: e})
				break
			}
		}
	}
	return out
}
