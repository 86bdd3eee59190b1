package kongsim

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// DefaultConfPaths is where Kong looks for its configuration without -c.
var DefaultConfPaths = []string{"/etc/kong/kong.conf", "/etc/kong.conf"}

// Config is a resolved configuration: defaults < file < KONG_* env < CLI.
type Config struct {
	Values map[string]string
	File   string // the configuration file read, or ""
	// Warnings are the deprecation warnings only `kong start` prints
	// (confcompat.go).
	Warnings []string
}

// ConfigArgs are the CLI inputs to configuration loading.
type ConfigArgs struct {
	ConfPath  string // -c
	Prefix    string // -p
	DBTimeout string // --db-timeout (seconds), "" when absent
}

// Defaults is a release's built-in configuration (kong_defaults.lua, for
// the keys the simulator uses).
func (r Release) Defaults() map[string]string {
	d := map[string]string{
		"prefix":                "/usr/local/kong/",
		"log_level":             "notice",
		"database":              "postgres",
		"pg_host":               "127.0.0.1",
		"pg_port":               "5432",
		"pg_user":               "kong",
		"pg_password":           "",
		"pg_database":           "kong",
		"pg_schema":             "",
		"pg_timeout":            "5000",
		"pg_ssl":                "off",
		"pg_ssl_version":        "tlsv1_2",
		"plugins":               "bundled",
		"lua_package_path":      "./?.lua;./?/init.lua;",
		"proxy_listen":          "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384",
		"admin_listen":          "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
		"status_listen":         "off",
		"cluster_listen":        "0.0.0.0:8005",
		"cluster_control_plane": "127.0.0.1:8005",
		"role":                  "traditional",
		"nginx_daemon":          "on",
		"declarative_config":    "",
		"db_update_frequency":   "5",
		"anonymous_reports":     "on",
	}
	if r.EE() {
		// EE conf_loader L55 and kong-conf 3.4.json (kong-reference 9.1).
		d["enforce_rbac"] = "off"
		d["rbac_auth_header"] = "Kong-Admin-Token"
		d["admin_gui_auth"] = ""
		d["admin_gui_auth_header"] = "Kong-Admin-User"
		// EE kong_defaults.lua L331-343 (keyring.go).
		d["keyring_enabled"] = "off"
		d["keyring_strategy"] = "cluster"
		d["keyring_public_key"] = ""
		d["keyring_private_key"] = ""
		d["keyring_recovery_public_key"] = ""
	}
	if r.AtLeast(3, 6) {
		d["status_listen"] = "127.0.0.1:8007 reuseport backlog=16384"
	}
	if !r.AtLeast(3, 0) {
		d["pg_ssl_version"] = "tlsv1"
	}
	return d
}

// LoadConfig resolves a configuration. env is the process environment
// (KONG_<KEY> overrides any key); fileExists lets tests keep away from the
// machine's /etc.
func (r Release) LoadConfig(args ConfigArgs, env []string) (*Config, error) {
	c := &Config{Values: r.Defaults()}
	user := map[string]bool{}
	path := args.ConfPath
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no file at: %s", path)
		}
	} else {
		for _, p := range DefaultConfPaths {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path != "" {
		vals, err := ParseConfFile(path)
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			c.Values[k] = v
			user[k] = true
		}
		c.File = path
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "KONG_") || len(k) == len("KONG_") {
			continue
		}
		c.Values[strings.ToLower(strings.TrimPrefix(k, "KONG_"))] = v
		user[strings.ToLower(strings.TrimPrefix(k, "KONG_"))] = true
	}
	r.applyCompat(c, user)
	if args.Prefix != "" {
		c.Values["prefix"] = args.Prefix
	}
	if p := c.Values["prefix"]; p != "" && !filepath.IsAbs(p) {
		if abs, err := filepath.Abs(p); err == nil {
			c.Values["prefix"] = abs
		}
	}
	if args.DBTimeout != "" {
		sec, err := strconv.ParseFloat(args.DBTimeout, 64)
		if err != nil {
			return nil, fmt.Errorf("db-timeout must be a number, got %q", args.DBTimeout)
		}
		c.Values["pg_timeout"] = strconv.Itoa(int(sec * 1000))
	}
	return c, nil
}

// ParseConfFile reads a kong.conf: `key = value` lines, `#` comments (an
// escaped `\#` is kept), keys case-insensitive.
func ParseConfFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("could not read configuration file %s: %w", path, err)
	}
	defer f.Close()
	return ParseConf(bufio.NewScanner(f), path)
}

// ParseConf parses kong.conf lines.
func ParseConf(sc *bufio.Scanner, name string) (map[string]string, error) {
	out := map[string]string{}
	n := 0
	for sc.Scan() {
		n++
		line := stripComment(sc.Text())
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected key = value, got %q", name, n, strings.TrimSpace(line))
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return nil, fmt.Errorf("%s:%d: empty key", name, n)
		}
		out[k] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

func stripComment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '#' {
			b.WriteByte('#')
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Get returns a value ("" when unset).
func (c *Config) Get(k string) string { return c.Values[k] }

// Prefix is the prefix without a trailing slash (but "/" stays "/").
func (c *Config) Prefix() string {
	p := c.Values["prefix"]
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

// Bool reads on/off/true/false.
func (c *Config) Bool(k string) bool {
	switch strings.ToLower(c.Values[k]) {
	case "on", "true", "yes", "1":
		return true
	}
	return false
}

// Schema is pg_schema or public.
func (c *Config) Schema() string {
	if s := c.Values["pg_schema"]; s != "" {
		return s
	}
	return "public"
}

// DBOff is true for database = off (DB-less and data planes).
func (c *Config) DBOff() bool { return c.Values["database"] == "off" }

// Listener is one plain-text entry of a *_listen setting.
type Listener struct {
	Addr string // host:port
	SSL  bool
}

var listenRe = regexp.MustCompile(`^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):(\d+)((\s+\S+)*)$`)

// ParseListen parses `off` or comma-separated `<ip>:<port> [flags]`.
func ParseListen(key, v string) ([]Listener, error) {
	v = strings.TrimSpace(v)
	if v == "off" || v == "" {
		return nil, nil
	}
	var out []Listener
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		m := listenRe.FindStringSubmatch(e)
		if m == nil {
			return nil, fmt.Errorf("%s must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] [reuseport] [backlog=%%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] [so_keepalive=off] [so_keepalive=%%w*:%%w*:%%d*], [... next entry ...]", key)
		}
		port, _ := strconv.Atoi(m[2])
		if port < 0 || port > 65535 {
			return nil, fmt.Errorf("%s: invalid port %s", key, m[2])
		}
		host := strings.Trim(m[1], "[]")
		l := Listener{Addr: net.JoinHostPort(host, m[2])}
		for _, f := range strings.Fields(m[3]) {
			if f == "ssl" {
				l.SSL = true
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// PlainListeners drops the ssl entries (the simulator serves no TLS).
func PlainListeners(ls []Listener) []string {
	var out []string
	for _, l := range ls {
		if !l.SSL {
			out = append(out, l.Addr)
		}
	}
	return out
}

// Validate returns every configuration error (as `kong check` lists them).
func (r Release) Validate(c *Config) []string {
	var errs []string
	db := c.Get("database")
	switch db {
	case "postgres", "off":
	case "cassandra":
		if r.AtLeast(3, 4) {
			errs = append(errs, "Cassandra as a datastore for Kong is not supported in versions 3.4 and above. Please use Postgres.")
		}
	default:
		errs = append(errs, fmt.Sprintf("database has an invalid value: '%s' (postgres, off)", db))
	}
	role := c.Get("role")
	switch role {
	case "traditional", "control_plane", "data_plane":
	default:
		errs = append(errs, fmt.Sprintf("role has an invalid value: '%s' (traditional, data_plane, control_plane)", role))
	}
	if role == "data_plane" && db != "off" {
		errs = append(errs, "only in-memory storage can be used when role = \"data_plane\"\nHint: set database = off in your kong.conf")
	}
	if role == "control_plane" && db == "off" {
		errs = append(errs, "in-memory storage can not be used when role = \"control_plane\"")
	}
	for _, k := range []string{"pg_port", "pg_timeout"} {
		if n, err := strconv.Atoi(c.Get(k)); err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s is not a valid number: '%s'", k, c.Get(k)))
		}
	}
	valid := []string{"tlsv1_1", "tlsv1_2", "tlsv1_3", "any"}
	switch {
	case !r.AtLeast(3, 0):
		valid = append([]string{"tlsv1"}, valid...)
	case r.EE() && r.AtLeast(3, 10):
		// EE tree conf_loader L230 (kong-reference 9.3).
		valid = []string{"tlsv1_2", "tlsv1_3", "any"}
	}
	if v := c.Get("pg_ssl_version"); !contains(valid, v) {
		errs = append(errs, fmt.Sprintf("pg_ssl_version has an invalid value: '%s' (%s)", v, strings.Join(valid, ", ")))
	}
	for _, k := range []string{"proxy_listen", "admin_listen", "status_listen", "cluster_listen"} {
		if _, err := ParseListen(k, c.Get(k)); err != nil {
			errs = append(errs, err.Error())
		}
	}
	errs = append(errs, sslCertErrors(c)...)
	if r.EE() {
		// EE conf_loader L55 (the enum) and L356-359 (admin_gui_auth).
		if v := c.Get("enforce_rbac"); !contains(RBACModes, v) {
			errs = append(errs, fmt.Sprintf("enforce_rbac has an invalid value: '%s' (%s)", v, strings.Join(RBACModes, ", ")))
		} else if v == "off" && c.Get("admin_gui_auth") != "" {
			errs = append(errs, "enforce_rbac must be enabled when admin_gui_auth is enabled")
		}
		errs = append(errs, validateKeyring(c)...)
	}
	if role == "data_plane" {
		if _, _, err := net.SplitHostPort(c.Get("cluster_control_plane")); err != nil {
			errs = append(errs, "cluster_control_plane must be of form: <host>:<port>")
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kongEnvHeader is the banner Kong writes at the top of .kong_env
// (prefix_handler.lua, kong-reference 9.2).
const kongEnvHeader = `# *************************
# * DO NOT EDIT THIS FILE *
# *************************
# This configuration file is auto-generated. If you want to modify
# the Kong configuration please edit/create the original ` + "`kong.conf`" + `
# file. Any modifications made here will be lost.
# Start Kong with ` + "`--vv`" + ` to show where it is looking for that file.

`

// KongEnv renders <prefix>/.kong_env as Kong does (kong-reference 9.2):
// the banner, then one `key = value` line for every resolved property
// (defaults and KONG_* overrides included; Kong's order is its hash's,
// the simulator's sorted), empty values skipped, # escaped.
func (c *Config) KongEnv() string {
	keys := make([]string, 0, len(c.Values))
	for k := range c.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(kongEnvHeader)
	for _, k := range keys {
		if c.Values[k] == "" {
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", k, strings.ReplaceAll(c.Values[k], "#", `\#`))
	}
	return b.String()
}

// ReadKongEnv loads a .kong_env as a Config (no env overrides, as nginx does).
func ReadKongEnv(path string) (*Config, error) {
	vals, err := ParseConfFile(path)
	if err != nil {
		return nil, err
	}
	return &Config{Values: vals, File: path}, nil
}
