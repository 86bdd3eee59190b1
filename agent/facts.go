package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Kong package names, OSS first.
var kongPackages = []string{"kong", "kong-enterprise-edition", "kong-enterprise-edition-fips", "kong-community-edition"}

// Kong systemd units.
var kongUnits = []string{"kong.service", "kong-enterprise-edition.service"}

var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

func (a *Agent) facts(ctx context.Context, run *opRun, p *agentproto.FactsParams) (*agentproto.Facts, error) {
	f := &agentproto.Facts{Clock: a.Now().UTC()}
	f.Hostname, _ = os.Hostname()
	f.OS = readOSRelease("/etc/os-release")
	if res, err := run.exec(ctx, cmdSpec{Args: []string{"uname", "-m"}}); err == nil && res.ExitCode == 0 {
		f.Arch = strings.TrimSpace(string(res.Stdout))
	} else {
		f.Arch = runtime.GOARCH
	}
	f.PackageManager = a.detectPackageManager()

	// Installed package.
	f.Kong = a.installedKong(ctx, run, f.PackageManager)
	bin, err := a.kongBin(p.KongBin)
	if err == nil {
		f.Kong.Bin = bin
		raw, ver, ed, verr := a.kongVersion(ctx, run, bin)
		if verr != nil {
			f.Warnings = append(f.Warnings, verr.Error())
		} else {
			f.Kong.Installed = true
			f.Kong.VersionRaw, f.Kong.Version = raw, ver
			if f.Kong.Edition == "" {
				f.Kong.Edition = ed
			}
		}
	}

	// kong.conf.
	conf, _, confErr, envErr := a.effectiveConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix}, p.KongConf)
	if confErr != nil {
		f.Warnings = append(f.Warnings, confErr.Error())
	}
	f.Conf = conf.facts(f.Kong.Version)
	if envErr != nil {
		f.Conf.EnvError = envErr.Error()
	}

	// Service.
	f.Service = a.serviceInfo(ctx, run, f.Kong.Edition, f.Conf.Prefix)

	// Disk.
	paths := []string{f.Conf.Prefix, a.StateDir, "/usr/local"}
	switch f.PackageManager {
	case "apt":
		paths = append(paths, "/var/cache/apt/archives")
	case "dnf", "yum":
		paths = append(paths, "/var/cache/"+f.PackageManager)
	}
	paths = append(paths, p.DiskPaths...)
	for _, path := range paths {
		f.Disk = append(f.Disk, diskFree(path))
	}
	return f, nil
}

func readOSRelease(path string) agentproto.OSInfo {
	var o agentproto.OSInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return o
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "ID_LIKE":
			o.IDLike = strings.Fields(v)
		case "VERSION_ID":
			o.VersionID = v
		case "VERSION_CODENAME":
			o.Codename = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}

func (a *Agent) detectPackageManager() string {
	for _, m := range []string{"apt-get", "dnf", "yum"} {
		if _, err := a.lookPath(m); err == nil {
			if m == "apt-get" {
				return "apt"
			}
			return m
		}
	}
	if _, err := a.lookPath("dpkg"); err == nil {
		return "dpkg"
	}
	if _, err := a.lookPath("rpm"); err == nil {
		return "rpm"
	}
	return ""
}

func (a *Agent) installedKong(ctx context.Context, run *opRun, pm string) agentproto.KongInstall {
	var k agentproto.KongInstall
	if _, err := a.lookPath("dpkg-query"); err == nil && (pm == "apt" || pm == "dpkg") {
		args := append([]string{"dpkg-query", "-W", "-f=${Package}\t${Version}\t${Status}\n"}, kongPackages...)
		res, err := run.exec(ctx, cmdSpec{Args: args})
		if err == nil {
			for _, line := range strings.Split(string(res.Stdout), "\n") {
				f := strings.Split(line, "\t")
				if len(f) == 3 && strings.HasSuffix(f[2], " installed") {
					k.Installed, k.Package, k.PackageVersion = true, f[0], f[1]
					k.Held = strings.HasPrefix(f[2], "hold ")
					break
				}
			}
		}
	} else if _, err := a.lookPath("rpm"); err == nil {
		for _, name := range kongPackages {
			res, err := run.exec(ctx, cmdSpec{Args: []string{"rpm", "-q", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n", name}})
			if err == nil && res.ExitCode == 0 {
				f := strings.Split(strings.TrimSpace(string(res.Stdout)), "\t")
				if len(f) == 2 {
					k.Installed, k.Package, k.PackageVersion = true, f[0], f[1]
					break
				}
			}
		}
	}
	if strings.HasPrefix(k.Package, "kong-enterprise") {
		k.Edition = agentproto.EditionEnterprise
	} else if k.Package != "" {
		k.Edition = agentproto.EditionOSS
	}
	return k
}

// kongBin resolves the kong executable.
func (a *Agent) kongBin(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", agentproto.Errorf(agentproto.CodeNotFound, "kong binary %s: %v", explicit, err)
		}
		return explicit, nil
	}
	if p, err := a.lookPath("kong"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/local/bin/kong"); err == nil {
		return "/usr/local/bin/kong", nil
	}
	return "", agentproto.Errorf(agentproto.CodeNotFound, "kong is not installed (not in PATH nor /usr/local/bin/kong)")
}

var versionRE = regexp.MustCompile(`\b(\d+\.\d+\.\d+(?:\.\d+)?)\b`)

// kongVersion runs `kong version`: OSS prints "3.4.2", EE "Kong Enterprise
// 3.9.0.0".
func (a *Agent) kongVersion(ctx context.Context, run *opRun, bin string) (raw, version, edition string, err error) {
	res, err := run.exec(ctx, cmdSpec{Args: []string{bin, "version"}})
	if err != nil {
		return "", "", "", err
	}
	raw = strings.TrimSpace(string(res.Stdout))
	if res.ExitCode != 0 {
		return raw, "", "", agentproto.Errorf(agentproto.CodeKongFailed, "kong version exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	version, edition, err = parseKongVersion(raw)
	return raw, version, edition, err
}

func parseKongVersion(raw string) (version, edition string, err error) {
	first, _, _ := strings.Cut(strings.TrimSpace(raw), "\n")
	m := versionRE.FindStringSubmatch(first)
	if m == nil {
		return "", "", agentproto.Errorf(agentproto.CodeUnparsed, "kong version printed %q: no version in it", first)
	}
	edition = agentproto.EditionOSS
	if strings.Contains(first, "Enterprise") {
		edition = agentproto.EditionEnterprise
	}
	return m[1], edition, nil
}

// versionAtLeast compares dotted versions numerically on major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

func diskFree(path string) agentproto.DiskFree {
	d := agentproto.DiskFree{Path: path}
	// Walk up to the nearest existing dir: the free space that matters
	// for a dir not created yet is its parent's.
	p := path
	for {
		if _, err := os.Stat(p); err == nil || p == "/" || p == "." {
			break
		}
		p = filepath.Dir(p)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		d.Err = err.Error()
		return d
	}
	d.FreeBytes = st.Bavail * uint64(st.Bsize)
	d.TotalBytes = st.Blocks * uint64(st.Bsize)
	return d
}

// systemdUsable: PID 1 is systemd and systemctl answers.
func (a *Agent) systemdUsable(ctx context.Context, run *opRun) bool {
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		return false
	}
	if _, err := a.lookPath("systemctl"); err != nil {
		return false
	}
	res, err := run.exec(ctx, cmdSpec{Args: []string{"systemctl", "--version"}})
	return err == nil && res.ExitCode == 0
}

func findUnit(edition string) string {
	units := kongUnits
	if edition == agentproto.EditionEnterprise {
		units = []string{kongUnits[1], kongUnits[0]}
	}
	for _, u := range units {
		for _, d := range unitDirs {
			if _, err := os.Stat(filepath.Join(d, u)); err == nil {
				return u
			}
		}
	}
	return ""
}

func (a *Agent) serviceInfo(ctx context.Context, run *opRun, edition, prefix string) agentproto.ServiceInfo {
	s := agentproto.ServiceInfo{Manager: agentproto.ManagerKongCLI}
	if u := findUnit(edition); u != "" && a.systemdUsable(ctx, run) {
		s.Manager, s.Unit = agentproto.ManagerSystemd, u
	}
	s.PIDFile = filepath.Join(prefix, "pids", "nginx.pid")
	s.PID, s.Running = pidFromFile(s.PIDFile)
	if s.Manager == agentproto.ManagerSystemd {
		res, err := run.exec(ctx, cmdSpec{Args: []string{"systemctl", "is-active", s.Unit}})
		if err == nil {
			s.Running = strings.TrimSpace(string(res.Stdout)) == "active"
		}
	}
	return s
}

// pidFromFile reads a pid file and says whether that process is alive.
func pidFromFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, pidAlive(pid)
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && err != syscall.EPERM {
		return false
	}
	// A zombie is not alive.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return false
		}
	}
	return true
}

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
