package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/kongver"
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
	conf, _, confErr, envErr := a.effectiveConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix, Carried: p.KongEnv}, p.KongConf)
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
	v, err := kongver.ParseReported(first)
	if err != nil {
		return "", "", agentproto.Errorf(agentproto.CodeUnparsed, "kong version printed %q: no version in it", first)
	}
	edition = agentproto.EditionOSS
	if strings.Contains(first, "Enterprise") {
		edition = agentproto.EditionEnterprise
	}
	return v.String(), edition, nil
}

// versionAtLeast reports whether a version Kong reported is major.minor
// or newer; false when it holds no version.
func versionAtLeast(v string, major, minor int) bool {
	kv, err := kongver.ParseReported(v)
	return err == nil && kv.AtLeast(major, minor)
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
