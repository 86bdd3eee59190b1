package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

func (a *Agent) installPackage(ctx context.Context, run *opRun, p *agentproto.InstallParams) (*agentproto.InstallResult, error) {
	if p.Background {
		run.nice = 10
	}
	if p.SHA256 != "" {
		if _, err := a.checkStagedSum(p.Path, p.SHA256); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(p.Path); err != nil {
		return nil, agentproto.Errorf(agentproto.CodeNotFound, "package file: %v", err)
	}
	isDeb := strings.HasSuffix(p.Path, ".deb")
	var warnings []string
	if p.Lean {
		lr, err := a.installLean(ctx, run, p, isDeb)
		if !errors.Is(err, errDepsUnmet) {
			return lr, err
		}
		// dpkg unpacked the package but left it unconfigured (or rpm
		// refused it): apt-get / dnf below install what is missing.
		warnings = lr.Warnings
	}
	mgr := p.Manager
	if mgr == "" {
		pm := a.detectPackageManager()
		switch {
		case isDeb && pm == "apt":
			mgr = "apt"
		case isDeb:
			mgr = "dpkg"
		case pm == "dnf" || pm == "yum":
			mgr = pm
		default:
			mgr = "rpm"
		}
	}
	r := &agentproto.InstallResult{Warnings: warnings}
	// Name and version inside the file, and what is installed now.
	pkgName, fileVer, _ := a.packageFileInfo(ctx, run, p.Path, isDeb)
	if p.Package != "" {
		pkgName = p.Package
	}
	if pkgName == "" {
		pkgName = "kong"
	}
	installedVer := a.installedVersion(ctx, run, pkgName, isDeb)
	// With apt the install always runs, waiting for dpkg's lock: an
	// install left running by a controller that died (and is now being
	// resumed or rolled back) must finish first, and whatever it installed
	// is then replaced by this version (a no-op when it is the same).
	if fileVer != "" && installedVer == fileVer {
		r.AlreadyDone = true
	}
	if !r.AlreadyDone || mgr == "apt" {
		var args []string
		var env []string
		switch mgr {
		case "apt":
			args = aptInstallArgs(p, false)
			env = []string{"DEBIAN_FRONTEND=noninteractive"}
			// First against the installed packages only (no source lists,
			// no cache files written): apt then resolves the staged file's
			// dependencies from dpkg's status alone instead of parsing
			// every repository's package list, seconds of CPU a node. When
			// a dependency is missing apt stops before dpkg runs, and the
			// install is retried with the repositories.
			local := aptInstallArgs(p, true)
			res, err := run.exec(ctx, cmdSpec{Args: local, Env: env})
			if err != nil {
				return r, err
			}
			if res.ExitCode == 0 || dpkgRan(res.Stdout, res.Stderr) {
				r.Method = strings.Join(local, " ")
				if res.ExitCode != 0 {
					return r, agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", r.Method, res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 1024))
				}
				args = nil
			}
		case "dpkg":
			args = []string{"dpkg", "-i", p.Path}
			env = []string{"DEBIAN_FRONTEND=noninteractive"}
		case "dnf", "yum":
			// A versionlock (kongctl's own hold from an earlier run, or the
			// operator's) would make dnf refuse the new version: release it;
			// the hold is put back on the installed version below.
			a.unhold(ctx, run, mgr, pkgName)
			verb := "install"
			if p.AllowDowngrade && installedVer != "" && fileVer != "" {
				c, err := rpmVercmp(ctx, run, fileVer, installedVer)
				if err != nil {
					return r, err
				}
				if c < 0 {
					verb = "downgrade" // dnf install refuses an older version
				}
			}
			args = []string{mgr, verb, "-y", absPath(p.Path)}
		case "rpm":
			args = []string{"rpm", "-U", "--replacepkgs", p.Path}
			if p.AllowDowngrade {
				args = append(args[:2], append([]string{"--oldpackage"}, args[2:]...)...)
			}
		default:
			return nil, agentproto.Errorf(agentproto.CodeInvalid, "manager %q", mgr)
		}
		if args != nil {
			r.Method = strings.Join(args, " ")
			res, err := run.exec(ctx, cmdSpec{Args: args, Env: env})
			if err != nil {
				return r, err
			}
			if res.ExitCode != 0 {
				return r, agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", r.Method, res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 1024))
			}
		}
	}
	r.PackageVersion = a.installedVersion(ctx, run, pkgName, isDeb)
	if p.Hold {
		r.Held, r.HoldMethod = a.hold(ctx, run, pkgName, isDeb)
		if !r.Held {
			r.Warnings = append(r.Warnings, "could not hold "+pkgName+" against automatic upgrades ("+r.HoldMethod+")")
		}
	}
	return r, a.checkKongVersion(ctx, run, p, r)
}

// checkKongVersion runs `kong version` once after an install: it must
// print p.ExpectVersion when that is set.
func (a *Agent) checkKongVersion(ctx context.Context, run *opRun, p *agentproto.InstallParams, r *agentproto.InstallResult) error {
	bin, err := a.kongBin(p.KongBin)
	if err != nil {
		return err
	}
	_, ver, _, err := a.kongVersion(ctx, run, bin)
	if err != nil {
		return fmt.Errorf("verify kong version after install: %w", err)
	}
	r.KongVersion = ver
	if p.ExpectVersion != "" && ver != p.ExpectVersion {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "installed %s but kong version says %s, want %s", p.Path, ver, p.ExpectVersion)
	}
	return nil
}

// aptLocalOnly makes apt-get see no repository: only dpkg's status and
// the package file given on the command line, and write no cache file.
var aptLocalOnly = []string{
	"-o", "Dir::Etc::SourceList=/dev/null",
	"-o", "Dir::Etc::SourceParts=/dev/null",
	"-o", "Dir::Cache::pkgcache=",
	"-o", "Dir::Cache::srcpkgcache=",
}

// aptInstallArgs installs the staged file p.Path with apt-get, waiting for
// dpkg's lock; localOnly resolves dependencies from the installed packages
// only (aptLocalOnly).
func aptInstallArgs(p *agentproto.InstallParams, localOnly bool) []string {
	args := []string{"apt-get", "install", "-y", "--allow-change-held-packages", "-o", "DPkg::Lock::Timeout=300"}
	if localOnly {
		args = append(args, aptLocalOnly...)
	}
	if p.AllowDowngrade {
		args = append(args, "--allow-downgrades")
	}
	return append(args, absPath(p.Path))
}

// dpkgRan reports whether an apt-get run got as far as dpkg (its output
// names the unpack or dpkg's own failure): such a failure is the
// package's, not a dependency apt could not resolve, and is not retried.
func dpkgRan(stdout, stderr []byte) bool {
	for _, b := range [][]byte{stdout, stderr} {
		s := string(b)
		if strings.Contains(s, "Preparing to unpack") || strings.Contains(s, "Unpacking ") || strings.Contains(s, "Sub-process /usr/bin/dpkg") {
			return true
		}
	}
	return false
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// packageFileInfo reads the package name and version inside a .deb or
// .rpm; the error says why the tool could not.
func (a *Agent) packageFileInfo(ctx context.Context, run *opRun, path string, isDeb bool) (name, version string, err error) {
	var args []string
	if isDeb {
		args = []string{"dpkg-deb", "-W", "--showformat=${Package}\t${Version}", path}
	} else {
		args = []string{"rpm", "-qp", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}", path}
	}
	res, err := run.exec(ctx, cmdSpec{Args: args})
	if err != nil {
		return "", "", err
	}
	if res.ExitCode != 0 {
		return "", "", fmt.Errorf("%s exited %d: %s", strings.Join(args, " "), res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 1024))
	}
	n, v, _ := strings.Cut(strings.TrimSpace(string(res.Stdout)), "\t")
	return n, v, nil
}

func (a *Agent) installedVersion(ctx context.Context, run *opRun, name string, isDeb bool) string {
	var args []string
	if isDeb {
		args = []string{"dpkg-query", "-W", "-f=${Version}\t${Status}", name}
	} else {
		args = []string{"rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name}
	}
	res, err := run.exec(ctx, cmdSpec{Args: args})
	if err != nil || res.ExitCode != 0 {
		return ""
	}
	out := strings.TrimSpace(string(res.Stdout))
	if isDeb {
		v, status, _ := strings.Cut(out, "\t")
		if !strings.HasSuffix(status, " installed") {
			return ""
		}
		return v
	}
	return out
}

// unhold drops dnf/yum's versionlock on name (nothing when the plugin is
// not installed).
func (a *Agent) unhold(ctx context.Context, run *opRun, mgr, name string) {
	_, _ = run.exec(ctx, cmdSpec{Args: []string{mgr, "-q", "versionlock", "delete", name}})
}

// hold pins name against automatic upgrades.
func (a *Agent) hold(ctx context.Context, run *opRun, name string, isDeb bool) (bool, string) {
	try := func(args ...string) bool {
		res, err := run.exec(ctx, cmdSpec{Args: args})
		return err == nil && res.ExitCode == 0
	}
	if isDeb {
		// The hold is dpkg's selection state, which apt-mark sets too;
		// set directly it costs no apt cache build (a second of CPU a
		// node). apt-mark when dpkg cannot.
		res, err := run.exec(ctx, cmdSpec{Args: []string{"dpkg", "--set-selections"}, Stdin: strings.NewReader(name + " hold\n")})
		if err == nil && res.ExitCode == 0 {
			return true, "dpkg --set-selections"
		}
		if _, err := a.lookPath("apt-mark"); err == nil {
			return try("apt-mark", "hold", name), "apt-mark hold"
		}
		return false, "dpkg --set-selections"
	}
	for _, m := range []string{"dnf", "yum"} {
		if _, err := a.lookPath(m); err == nil {
			if !try(m, "versionlock", "--help") {
				return false, m + " versionlock plugin not installed"
			}
			_ = try(m, "versionlock", "delete", name)
			return try(m, "versionlock", "add", name), m + " versionlock"
		}
	}
	return false, "no dnf/yum"
}

// rpmVercmp orders two rpm package versions ("3.10.0.2-1", "2.8.4-1.el9")
// by rpm's own rules (rpm.vercmp, the comparison dnf and rpm -U use):
// -1, 0 or 1. The versions go into rpm's Lua as literals, so they must
// hold only the characters rpm allows in a version-release.
func rpmVercmp(ctx context.Context, run *opRun, a, b string) (int, error) {
	for _, v := range []string{a, b} {
		if v == "" || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~^:-") != "" {
			return 0, agentproto.Errorf(agentproto.CodeInvalid, "rpm version %q: not a version-release", v)
		}
	}
	args := []string{"rpm", "--eval", fmt.Sprintf("%%{lua: print(rpm.vercmp('%s', '%s'))}", a, b)}
	res, err := run.exec(ctx, cmdSpec{Args: args})
	if err != nil {
		return 0, err
	}
	out := strings.TrimSpace(string(res.Stdout))
	n, perr := strconv.Atoi(out)
	if res.ExitCode != 0 || perr != nil {
		return 0, agentproto.Errorf(agentproto.CodeCommandFailed, "rpm vercmp %s %s exited %d: %q %s", a, b, res.ExitCode, out, clip(strings.TrimSpace(string(res.Stderr)), 1024))
	}
	return max(-1, min(1, n)), nil
}
