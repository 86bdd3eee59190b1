package agent

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ---- kong.conf ----

// kongConf is a parsed kong.conf (key → value) with, once applyEnv ran,
// the service's KONG_* environment over it: Kong's own precedence.
type kongConf struct {
	path    string
	kv      map[string]string
	entries []agentproto.ConfEntry // every key = value line, in file order
	env     map[string]string      // conf key -> value from the service's environment
	from    map[string]string      // conf key -> where its env value came from
	src     string                 // serviceEnv.Source
}

// applyEnv lays the service's KONG_* variables over the file.
func (c *kongConf) applyEnv(e *serviceEnv) {
	c.env, c.from = map[string]string{}, map[string]string{}
	if e == nil {
		return
	}
	c.src = e.Source
	for k, v := range e.Vars {
		key := strings.ToLower(strings.TrimPrefix(k, "KONG_"))
		c.env[key], c.from[key] = v, e.From[k]
	}
}

// source says where key's effective value comes from.
func (c *kongConf) source(key string) string {
	if f, ok := c.from[key]; ok {
		return "environment (" + f + ")"
	}
	if _, ok := c.kv[key]; ok {
		return "kong.conf " + c.path
	}
	return "default"
}

// loadKongConf reads path, or the first of Kong's default locations.
// No file is not an error (Kong then runs on defaults).
func loadKongConf(path string) (*kongConf, error) {
	c := &kongConf{kv: map[string]string{}}
	candidates := []string{path}
	if path == "" {
		candidates = []string{"/etc/kong/kong.conf", "/etc/kong.conf"}
	}
	for _, p := range candidates {
		f, err := os.Open(p)
		if err != nil {
			if path != "" {
				return c, fmt.Errorf("read kong conf: %w", err)
			}
			continue
		}
		defer f.Close()
		c.path = p
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			k, v, ok := parseConfLine(sc.Text())
			if ok {
				c.kv[k] = v
				c.addEntry(k, v, line)
			}
		}
		if err := sc.Err(); err != nil {
			return c, fmt.Errorf("read %s: %w", p, err)
		}
		return c, nil
	}
	return c, nil
}

// parseConfLine parses `key = value  # comment` (`\#` is a literal #).
func parseConfLine(line string) (string, string, bool) {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) && line[i+1] == '#' {
			b.WriteByte('#')
			i++
			continue
		}
		if line[i] == '#' {
			break
		}
		b.WriteByte(line[i])
	}
	k, v, ok := strings.Cut(b.String(), "=")
	if !ok {
		return "", "", false
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if k == "" {
		return "", "", false
	}
	return k, v, true
}

// addEntry records a line for the controller's kong.conf rules: the key
// lower-cased as Kong reads it, the value left out for secret keys.
func (c *kongConf) addEntry(k, v string, line int) {
	k = strings.ToLower(k)
	if agentproto.SecretConfKey(k) {
		v = ""
	}
	c.entries = append(c.entries, agentproto.ConfEntry{Key: k, Value: v, Line: line})
}

func (c *kongConf) get(key, def string) string {
	if v, ok := c.env[key]; ok && v != "" {
		return v
	}
	if v, ok := c.kv[key]; ok && v != "" {
		return v
	}
	return def
}

func (c *kongConf) prefix() string {
	return strings.TrimRight(c.get("prefix", "/usr/local/kong"), "/")
}

// facts returns the conf's settings with Kong's defaults for version.
func (c *kongConf) facts(version string) agentproto.KongConf {
	statusDefault := "off"
	if version == "" || versionAtLeast(version, 3, 6) {
		statusDefault = "127.0.0.1:8007 reuseport backlog=16384"
	}
	port, _ := strconv.Atoi(c.get("pg_port", "5432"))
	ssl := c.get("pg_ssl", "off")
	hasPW := c.get("pg_password", "") != ""
	sources := map[string]string{}
	for _, k := range []string{"database", "pg_host", "pg_port", "pg_user", "pg_database", "pg_schema", "pg_password"} {
		sources[k] = c.source(k)
	}
	return agentproto.KongConf{
		Path:         c.path,
		Prefix:       c.prefix(),
		Role:         c.get("role", "traditional"),
		Plugins:      c.get("plugins", "bundled"),
		ProxyListen:  c.get("proxy_listen", "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384"),
		AdminListen:  c.get("admin_listen", "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384"),
		StatusListen: c.get("status_listen", statusDefault),
		DB: agentproto.DBSettings{
			Database: c.get("database", "postgres"),
			Host:     c.get("pg_host", "127.0.0.1"),
			Port:     port,
			User:     c.get("pg_user", "kong"),
			Name:     c.get("pg_database", "kong"),
			Schema:   c.get("pg_schema", "public"),
			SSL:      ssl == "on" || ssl == "true",
		},
		HasPGPassword:       hasPW,
		DBSources:           sources,
		EnvSource:           c.src,
		EnforceRBAC:         c.get("enforce_rbac", "off"),
		RBACAuthHeader:      c.get("rbac_auth_header", agentproto.DefaultTokenHeader),
		KonnectMode:         c.get("konnect_mode", "off"),
		ClusterControlPlane: c.get("cluster_control_plane", ""),
		Keyring: agentproto.KeyringConf{Enabled: confBool(c.get("keyring_enabled", "off")), Strategy: c.get("keyring_strategy", "cluster"),
			PublicKey: c.get("keyring_public_key", "") != "", PrivateKey: c.get("keyring_private_key", "") != "", RecoveryKey: c.get("keyring_recovery_public_key", "") != ""},
		Entries: c.entries,
	}
}

// plainHTTPAddr returns the first non-ssl host:port of a Kong listen
// setting, with a wildcard host replaced by loopback; "" when off/none.
func plainHTTPAddr(listen string) string {
	if strings.TrimSpace(listen) == "off" {
		return ""
	}
	for _, entry := range strings.Split(listen, ",") {
		f := strings.Fields(entry)
		if len(f) == 0 || containsStr(f[1:], "ssl") {
			continue
		}
		addr := f[0]
		host, port, ok := strings.Cut(addr, ":")
		if i := strings.LastIndex(addr, ":"); i >= 0 {
			host, port, ok = addr[:i], addr[i+1:], true
		}
		if !ok {
			continue
		}
		switch host {
		case "0.0.0.0", "*", "":
			host = "127.0.0.1"
		case "[::]":
			host = "[::1]"
		}
		return host + ":" + port
	}
	return ""
}

// allAddrs returns every host:port of a listen setting (wildcards mapped
// to loopback).
func allAddrs(listen string) []string {
	if strings.TrimSpace(listen) == "off" {
		return nil
	}
	var out []string
	for _, entry := range strings.Split(listen, ",") {
		f := strings.Fields(entry)
		if len(f) == 0 {
			continue
		}
		addr := f[0]
		i := strings.LastIndex(addr, ":")
		if i < 0 {
			continue
		}
		host := addr[:i]
		switch host {
		case "0.0.0.0", "*", "":
			host = "127.0.0.1"
		case "[::]":
			host = "[::1]"
		}
		out = append(out, host+":"+addr[i+1:])
	}
	return out
}
