package kongsim

import (
	"fmt"
	"sort"
	"strings"
)

// What each simulated release does with kong.conf properties that were
// removed or renamed between releases (kong-reference 9.2-9.3; Kong's
// conf_loader at tags 2.8.0, 3.4.0, 3.9.0):
//
//   - a removed key is not in kong_defaults, so the loader drops it
//     without a word, in `check`, `prepare` and `start` alike;
//   - a deprecated key with an alias is copied to its replacement, and
//     only `kong start` prints the warning (the loader disables logging
//     unless opts.starting: conf_loader/init.lua 3.4.0 L1729-1735);
//   - an invalid value of a kept key is an error of check_and_parse
//     (Validate);
//   - an nginx_<block>_<directive> key becomes a raw directive, which only
//     nginx's configuration test (`kong prepare`/`start`, not `check`)
//     rejects when the bundled nginx does not know it.

// confRemoval is a key (a prefix when it ends in "_") a release no longer
// has in its defaults.
type confRemoval struct {
	key  string
	gone [2]int // first major.minor without it
	ee   bool   // Enterprise-only key
}

// confRemovals: kong-reference 9.3 "Removed 2.8 → 3.4" and "Removed 3.4 →
// 3.10 / 3.14".
var confRemovals = []confRemoval{
	// 3.0 (CHANGELOG 3.0.0; kong_defaults.lua 2.8.0 vs 3.4.0).
	{key: "go_plugins_dir", gone: [2]int{3, 0}},
	{key: "go_pluginserver_exe", gone: [2]int{3, 0}},
	{key: "nginx_optimizations", gone: [2]int{3, 0}},
	{key: "upstream_keepalive", gone: [2]int{3, 0}},
	{key: "nginx_upstream_keepalive", gone: [2]int{3, 0}},
	{key: "nginx_upstream_keepalive_requests", gone: [2]int{3, 0}},
	{key: "nginx_upstream_keepalive_timeout", gone: [2]int{3, 0}},
	{key: "nginx_http_upstream_keepalive", gone: [2]int{3, 0}},
	{key: "nginx_http_upstream_keepalive_requests", gone: [2]int{3, 0}},
	{key: "nginx_http_upstream_keepalive_timeout", gone: [2]int{3, 0}},
	{key: "client_max_body_size", gone: [2]int{3, 0}},
	{key: "client_body_buffer_size", gone: [2]int{3, 0}},
	// EE (9.3 "Removed 2.8 → 3.4"; the release within 3.0-3.4 is not in
	// the reference, so 3.0 as controller/upgradepath has it).
	{key: "data_plane_config_cache_mode", gone: [2]int{3, 0}, ee: true},
	{key: "data_plane_config_cache_path", gone: [2]int{3, 0}, ee: true},
	// 3.4: every cassandra_* (database = cassandra stays an error).
	{key: "cassandra_", gone: [2]int{3, 4}},
	// 3.5 (CHANGELOG 3.5.0): privileged_agent's alias entry is named
	// privileged_worker, so an old line is stripped; admin_gui_origin is
	// internal.
	{key: "privileged_agent", gone: [2]int{3, 5}},
	{key: "admin_gui_origin", gone: [2]int{3, 5}},
	// EE 3.4 → 3.10 (kong-conf 3.4.json vs 3.10.json): Dev Portal, Vitals,
	// granular tracing.
	{key: "portal_", gone: [2]int{3, 5}, ee: true},
	{key: "portal", gone: [2]int{3, 5}, ee: true},
	{key: "vitals", gone: [2]int{3, 5}, ee: true},
	{key: "vitals_", gone: [2]int{3, 5}, ee: true},
	{key: "tracing", gone: [2]int{3, 5}, ee: true},
	{key: "tracing_write_strategy", gone: [2]int{3, 5}, ee: true},
	{key: "tracing_write_endpoint", gone: [2]int{3, 5}, ee: true},
	{key: "tracing_time_threshold", gone: [2]int{3, 5}, ee: true},
	{key: "tracing_types", gone: [2]int{3, 5}, ee: true},
	{key: "tracing_debug_header", gone: [2]int{3, 5}, ee: true},
	{key: "generate_trace_details", gone: [2]int{3, 5}, ee: true},
	// EE 3.10 → 3.14 (kong-conf 3.14.json): WASM support removed.
	{key: "wasm", gone: [2]int{3, 14}},
	{key: "wasm_filters", gone: [2]int{3, 14}},
	{key: "wasm_filters_path", gone: [2]int{3, 14}},
}

// confAlias is a deprecated key a release still accepts, copied to its
// replacement (conf_loader deprecated_properties).
type confAlias struct {
	old, replacement string
	since, gone      [2]int // accepted from since, dropped from gone ({0,0}: kept)
	ee               bool
}

// confAliases: the alias table of kong-reference 9.3 (CONF_PARSERS at
// 2.8.0 L350-440, 3.4.0 L560-580).
var confAliases = []confAlias{
	{old: "client_max_body_size", replacement: "nginx_http_client_max_body_size", gone: [2]int{3, 0}},
	{old: "client_body_buffer_size", replacement: "nginx_http_client_body_buffer_size", gone: [2]int{3, 0}},
	{old: "upstream_keepalive", replacement: "upstream_keepalive_pool_size", gone: [2]int{3, 0}},
	{old: "nginx_http_upstream_keepalive", replacement: "upstream_keepalive_pool_size", gone: [2]int{3, 0}},
	{old: "opentelemetry_tracing", replacement: "tracing_instrumentations", since: [2]int{3, 2}},
	{old: "opentelemetry_tracing_sampling_rate", replacement: "tracing_sampling_rate", since: [2]int{3, 2}},
	{old: "admin_api_uri", replacement: "admin_gui_api_url", since: [2]int{3, 0}, ee: true},
}

// nginxBlocks are the dynamic nginx_<block>_ namespaces (conf_loader
// DYNAMIC_KEY_NAMESPACES, 3.4.0 L163-253), longest first.
var nginxBlocks = []string{"supstream", "status", "stream", "sproxy", "upstream", "events", "admin", "proxy", "http", "main"}

// nginxRemovedDirective is a directive an nginx release no longer knows.
type nginxRemovedDirective struct {
	directive string
	gone      [2]int // first Kong major.minor whose nginx rejects it
}

// nginxRemoved: nginx 1.25.1 CHANGES "the deprecated "ssl" directive is not
// supported anymore"; Kong 3.6.0 bumped OpenResty from 1.21.4.2 to 1.25.3.1
// (changelog/3.6.0/kong/bump-openresty.yml).
var nginxRemoved = []nginxRemovedDirective{
	{directive: "ssl", gone: [2]int{3, 6}},
}

func (r Release) atLeast(v [2]int) bool { return r.AtLeast(v[0], v[1]) }

func (r Release) applies(ee bool) bool { return !ee || r.EE() }

// removedKey says whether key is gone from this release's defaults.
func (r Release) removedKey(key string) bool {
	for _, rm := range confRemovals {
		if !r.applies(rm.ee) || !r.atLeast(rm.gone) {
			continue
		}
		if key == rm.key || strings.HasSuffix(rm.key, "_") && strings.HasPrefix(key, rm.key) {
			return true
		}
	}
	return false
}

// applyCompat is the loader's part for the user's keys (file and env):
// removed keys dropped silently, deprecated aliases copied to their
// replacement with the warning kept for `kong start`.
func (r Release) applyCompat(c *Config, user map[string]bool) {
	keys := make([]string, 0, len(user))
	for k := range user {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if r.removedKey(k) {
			delete(c.Values, k)
		}
	}
	for _, al := range confAliases {
		if !user[al.old] || !r.applies(al.ee) || !r.atLeast(al.since) || (al.gone != [2]int{} && r.atLeast(al.gone)) {
			continue
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("the '%s' configuration property is deprecated, use '%s' instead", al.old, al.replacement))
		if !user[al.replacement] {
			c.Values[al.replacement] = c.Values[al.old]
		}
		delete(c.Values, al.old)
	}
}

// nginxDirective splits an nginx_<block>_<directive> key.
func nginxDirective(key string) (block, directive string, ok bool) {
	rest, found := strings.CutPrefix(key, "nginx_")
	if !found {
		return "", "", false
	}
	for _, b := range nginxBlocks {
		if d, found := strings.CutPrefix(rest, b+"_"); found && d != "" {
			return b, d, true
		}
	}
	return "", "", false
}

// injectedDirectives are the nginx_<block>_* keys of c, sorted, as the
// lines Kong injects into nginx-kong.conf.
func injectedDirectives(c *Config) []string {
	var out []string
	for k := range c.Values {
		if _, _, ok := nginxDirective(k); ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// nginxTest is `nginx -t` on the written prefix (nginx_signals.check_conf):
// the first injected directive this release's nginx does not know fails
// with nginx's own lines. conf is the nginx-kong.conf text.
func (r Release) nginxTest(prefix, conf string) error {
	for i, line := range strings.Split(conf, "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, rm := range nginxRemoved {
			if f[0] == rm.directive && r.atLeast(rm.gone) {
				return fmt.Errorf("nginx configuration is invalid (exit code 1):\nnginx: [emerg] unknown directive \"%s\" in %s/nginx-kong.conf:%d\nnginx: configuration file %s/nginx.conf test failed",
					rm.directive, prefix, i+1, prefix)
			}
		}
	}
	return nil
}
