//go:build integration

package kongsim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kong-reference 9.2-9.3: what each release does with kong.conf
// properties removed or renamed between the simulated versions.
func TestConfCompat(t *testing.T) {
	check := func(n *node, version string) result {
		return n.run(sim(n.t, version), "check", n.conf)
	}
	prepare := func(n *node, version string) result {
		return n.run(sim(n.t, version), "prepare", "-p", n.prefix, "-c", n.conf)
	}
	kongEnv := func(n *node) string {
		b, err := os.ReadFile(filepath.Join(n.prefix, ".kong_env"))
		if err != nil {
			n.t.Fatal(err)
		}
		return string(b)
	}

	// 9.3 "Removed key: dropped silently (9.2): no warning, no error, in
	// check or start"; 9.2 "Keys that are not in kong_defaults.lua are
	// silently dropped" (spec 03-conf_loader_spec.lua L121).
	t.Run("9.3/removed key dropped silently", func(t *testing.T) {
		n := newNode(t, nil, "", "nginx_optimizations = on", "go_plugins_dir = /opt/go-plugins", "cassandra_contact_points = 10.0.0.9")
		r := n.must(check(n, "3.4.2"), 0)
		if r.stdout != "configuration at "+n.conf+" is valid\n" || r.stderr != "" {
			t.Fatalf("check: %s", r)
		}
		n.must(prepare(n, "3.4.2"), 0)
		if env := kongEnv(n); strings.Contains(env, "nginx_optimizations") || strings.Contains(env, "go_plugins_dir") || strings.Contains(env, "cassandra_") {
			t.Fatalf("3.4.2 kept a removed key in .kong_env:\n%s", env)
		}
		// 2.8.4 still knows them.
		n.must(prepare(n, "2.8.4"), 0)
		if env := kongEnv(n); !strings.Contains(env, "nginx_optimizations = on\n") || !strings.Contains(env, "go_plugins_dir = /opt/go-plugins\n") {
			t.Fatalf("2.8.4 dropped a key it has:\n%s", env)
		}
	})
	t.Run("9.3/EE 3.10 drops portal, vitals and granular tracing", func(t *testing.T) {
		n := newNode(t, nil, "", "portal = on", "portal_gui_listen = 0.0.0.0:8003", "vitals = on", "tracing = on")
		n.must(check(n, "3.10.0.2"), 0)
		n.must(prepare(n, "3.10.0.2"), 0)
		if env := kongEnv(n); regexp.MustCompile(`(?m)^(portal|vitals|tracing)`).MatchString(env) {
			t.Fatalf("3.10.0.2 kept a removed key:\n%s", env)
		}
		n.must(prepare(n, "3.4.3.5"), 0)
		if env := kongEnv(n); !strings.Contains(env, "portal = on\n") || !strings.Contains(env, "vitals = on\n") {
			t.Fatalf("3.4.3.5 dropped a key it has:\n%s", env)
		}
	})

	// 9.3 "Deprecated key with alias ... warns ... and copies the value to
	// Y. Warnings are printed only by kong start" (conf_loader 2.8.0
	// L422-442; 3.4.0 L1729-1735 disables logging unless starting).
	t.Run("9.3/deprecated alias copied, warned at start only", func(t *testing.T) {
		n := newDBNode(t, "client_max_body_size = 8m")
		r := n.must(check(n, "2.8.4"), 0)
		if r.stderr != "" {
			t.Fatalf("check warned: %s", r)
		}
		r = n.must(prepare(n, "2.8.4"), 0)
		if r.stderr != "" {
			t.Fatalf("prepare warned: %s", r)
		}
		if env := kongEnv(n); !strings.Contains(env, "nginx_http_client_max_body_size = 8m\n") || strings.Contains(env, "\nclient_max_body_size") {
			t.Fatalf("alias not applied:\n%s", env)
		}
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		r = n.must(n.kong("2.8.4", "start"), 0)
		want := "[warn] the 'client_max_body_size' configuration property is deprecated, use 'nginx_http_client_max_body_size' instead\n"
		if !warnLine.MatchString(r.stderr) || !strings.HasSuffix(r.stderr, want) {
			t.Fatalf("start: want the warning %q: %s", want, r)
		}
		n.must(n.run(sim(t, "2.8.4"), "stop", "-p", n.prefix), 0)
		// Gone in 3.0: 3.4.2 drops it silently.
		r = n.must(n.kong("3.4.2", "prepare"), 0)
		if env := kongEnv(n); r.stderr != "" || strings.Contains(env, "client_max_body_size") {
			t.Fatalf("3.4.2 kept or warned about client_max_body_size: %s\n%s", r, env)
		}
	})

	// 9.3 "Invalid value of a kept key: <key> has an invalid value: '<v>'
	// (<allowed>). kong check then prints <ts> [error] ... and exits 1";
	// EE tree enum for pg_ssl_version: tlsv1_2|tlsv1_3|any (L230).
	t.Run("9.3/invalid value of a kept key fails check", func(t *testing.T) {
		n := newNode(t, nil, "", "pg_ssl_version = tlsv1_1")
		n.must(check(n, "3.4.3.5"), 0)
		r := n.must(check(n, "3.10.0.2"), 1)
		if !regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] pg_ssl_version has an invalid value: 'tlsv1_1' \(tlsv1_2, tlsv1_3, any\)\n$`).MatchString(r.stderr) {
			t.Fatalf("check: %s", r)
		}
		r = n.must(prepare(n, "3.10.0.2"), 1)
		if !strings.Contains(r.stderr, "pg_ssl_version has an invalid value: 'tlsv1_1'") {
			t.Fatalf("prepare: %s", r)
		}
	})

	// 9.2 "nginx_<block>_* keys become raw nginx directives. A stale one
	// fails only at nginx -t, which kong prepare/start run and kong check
	// does not" (nginx_signals.lua 3.4.0 L186-203, prefix_handler.lua
	// L731); nginx 1.25.1 dropped the "ssl" directive and Kong 3.6 ships
	// OpenResty 1.25.3.
	t.Run("9.2/stale nginx directive fails prepare and start, not check", func(t *testing.T) {
		n := newDBNode(t, "nginx_proxy_ssl = off")
		n.must(prepare(n, "3.4.2"), 0)
		if b, err := os.ReadFile(filepath.Join(n.prefix, "nginx-kong.conf")); err != nil || !strings.Contains(string(b), "\nssl off;\n") {
			t.Fatalf("3.4.2 did not inject the directive (%v):\n%s", err, b)
		}
		r := n.must(check(n, "3.9.1"), 0)
		if r.stderr != "" {
			t.Fatalf("check: %s", r)
		}
		_ = os.Remove(filepath.Join(n.prefix, ".kong_env"))
		r = n.must(prepare(n, "3.9.1"), 1)
		re := regexp.MustCompile(`Error: could not prepare Kong prefix at ` + regexp.QuoteMeta(n.prefix) + `: nginx configuration is invalid \(exit code 1\):\nnginx: \[emerg\] unknown directive "ssl" in ` + regexp.QuoteMeta(n.prefix) + `/nginx-kong.conf:\d+\nnginx: configuration file ` + regexp.QuoteMeta(n.prefix) + `/nginx.conf test failed\n`)
		if !re.MatchString(r.stderr) {
			t.Fatalf("prepare: %s", r)
		}
		if _, err := os.Stat(filepath.Join(n.prefix, ".kong_env")); err == nil {
			t.Fatal("prepare wrote .kong_env although nginx's test failed")
		}
		n.must(n.kong("3.9.1", "migrations", "bootstrap"), 0)
		r = n.must(n.kong("3.9.1", "start"), 1)
		if !strings.Contains(r.stderr, "Error: nginx configuration is invalid (exit code 1):\nnginx: [emerg] unknown directive \"ssl\"") {
			t.Fatalf("start: %s", r)
		}
	})
}
