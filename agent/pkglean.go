package agent

// The lean install. What can be learnt about a package file is learnt when
// it is staged, before the stop: what it holds and whether the installed
// packages meet its dependencies. Inside the downtime the install is then
// dpkg -i or rpm -U alone and one `kong version`; the hold against
// automatic upgrades is set by its own op once the fleet serves again.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// errDepsUnmet: dpkg or rpm found a dependency missing at the install
// itself; the install goes on with the package manager.
var errDepsUnmet = errors.New("dependencies not met")

// dpkgLockWait bounds the wait for dpkg's lock, as DPkg::Lock::Timeout=300
// does for apt-get; dpkgLockRetry is the pause between two tries.
var (
	dpkgLockWait  = 300 * time.Second
	dpkgLockRetry = time.Second
)

var noninteractive = []string{"DEBIAN_FRONTEND=noninteractive"}

// inspectStaged reads what the staged file r.Path holds and whether what
// is installed meets its dependencies. A file its own tool rejects fails
// the staging (found before the downtime); a dependency check that cannot
// run leaves DepsMet false, and the install takes the package manager.
func (a *Agent) inspectStaged(ctx context.Context, run *opRun, r *agentproto.StageResult) error {
	isDeb := strings.HasSuffix(r.Path, ".deb")
	if !isDeb {
		// The header and payload digests. The signature is not asked
		// for: it needs the vendor's key imported, which dnf does not
		// ask of a local file either (localpkg_gpgcheck).
		args := []string{"rpm", "-K", "--nosignature", r.Path}
		res, err := run.exec(ctx, cmdSpec{Args: args})
		if err != nil {
			return fmt.Errorf("verify staged %s: %w", filepath.Base(r.Path), err)
		}
		if res.ExitCode != 0 {
			return agentproto.Errorf(agentproto.CodeChecksumMismatch, "staged %s: %s exited %d: %s", filepath.Base(r.Path), strings.Join(args, " "), res.ExitCode, clip(strings.TrimSpace(string(res.Stdout)+" "+string(res.Stderr)), 1024))
		}
	}
	name, ver, err := a.packageFileInfo(ctx, run, r.Path, isDeb)
	if err != nil {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "read staged %s: %v", filepath.Base(r.Path), err)
	}
	r.Package, r.PackageVersion = name, ver
	if isDeb {
		r.DepsMet, r.DepsDetail = a.debDepsMet(ctx, run, r.Path, name)
	} else {
		r.DepsMet, r.DepsDetail = a.rpmDepsMet(ctx, run, r.Path)
	}
	return nil
}

// debDepsMet asks apt-get to simulate the install against dpkg's status
// alone (aptLocalOnly: no repository, no cache written). dpkg --dry-run
// cannot answer: it stops before configuring, where dpkg checks Depends,
// and exits 0 with a dependency missing. The dependencies are met when
// apt would install this package and change no other.
func (a *Agent) debDepsMet(ctx context.Context, run *opRun, path, name string) (bool, string) {
	if _, err := a.lookPath("apt-get"); err != nil {
		return false, "no apt-get to check the dependencies with"
	}
	args := slices.Insert(aptInstallArgs(&agentproto.InstallParams{Path: path, AllowDowngrade: true}, true), 2, "-s")
	res, err := run.exec(ctx, cmdSpec{Args: args, Env: noninteractive})
	if err != nil {
		return false, err.Error()
	}
	if res.ExitCode != 0 {
		return false, fmt.Sprintf("apt-get install -s exited %d: %s", res.ExitCode, clip(aptProblem(res.Stdout, res.Stderr), 512))
	}
	if other := aptOtherChanges(res.Stdout, name); len(other) > 0 {
		return false, "installing it also changes " + strings.Join(other, ", ")
	}
	return true, ""
}

// aptOtherChanges lists the packages other than name that apt-get -s
// would install or remove ("Inst kong [2.8.4] (3.4.2 local-deb [amd64])",
// "Remv kong [2.8.4]").
func aptOtherChanges(out []byte, name string) []string {
	var other []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "Inst" || f[0] == "Remv") && f[1] != name {
			other = append(other, strings.ToLower(f[0][:1])+f[0][1:]+" "+f[1])
		}
	}
	return other
}

// aptProblem is what apt printed about the dependencies it could not
// meet (its "unmet dependencies" lines and errors), else its stderr.
func aptProblem(stdout, stderr []byte) string {
	var keep []string
	for _, line := range strings.Split(string(stdout)+"\n"+string(stderr), "\n") {
		if t := strings.TrimSpace(line); strings.Contains(t, "Depends:") || strings.HasPrefix(t, "E:") {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return strings.TrimSpace(string(stderr))
	}
	return strings.Join(keep, "; ")
}

// rpmDepsMet: rpm -U --test checks the dependencies and conflicts against
// rpm's database without installing (exit 1 "Failed dependencies").
func (a *Agent) rpmDepsMet(ctx context.Context, run *opRun, path string) (bool, string) {
	args := []string{"rpm", "-U", "--test", "--oldpackage", "--replacepkgs", path}
	res, err := run.exec(ctx, cmdSpec{Args: args})
	if err != nil {
		return false, err.Error()
	}
	if res.ExitCode != 0 {
		return false, fmt.Sprintf("%s exited %d: %s", strings.Join(args, " "), res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 512))
	}
	return true, ""
}

// installLean installs p.Path with dpkg -i or rpm -U alone and checks
// `kong version` once. errDepsUnmet: a dependency went missing since the
// staging, and the package manager must finish the install.
func (a *Agent) installLean(ctx context.Context, run *opRun, p *agentproto.InstallParams, isDeb bool) (*agentproto.InstallResult, error) {
	r := &agentproto.InstallResult{Lean: true}
	var res cmdResult
	var err error
	if isDeb {
		args := []string{"dpkg", "-i", absPath(p.Path)}
		r.Method = strings.Join(args, " ")
		res, err = dpkgWaitingForLock(ctx, run, cmdSpec{Args: args, Env: noninteractive})
	} else {
		// rpm waits for its own transaction lock.
		args := []string{"rpm", "-U", "--oldpackage", "--replacepkgs", p.Path}
		r.Method = strings.Join(args, " ")
		res, err = run.exec(ctx, cmdSpec{Args: args})
	}
	if err != nil {
		return r, err
	}
	if res.ExitCode != 0 {
		msg := clip(strings.TrimSpace(string(res.Stderr)), 1024)
		if depsProblem(res.Stderr) {
			r.Lean = false
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s found a dependency missing (%s): installed with the package manager", r.Method, msg))
			return r, errDepsUnmet
		}
		return r, agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", r.Method, res.ExitCode, msg)
	}
	return r, a.checkKongVersion(ctx, run, p, r)
}

// depsProblem: dpkg's "dependency problems - leaving unconfigured" and
// "pre-dependency problem", rpm's "Failed dependencies".
func depsProblem(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("dependency problem")) || bytes.Contains(stderr, []byte("Failed dependencies"))
}

// dpkgWaitingForLock runs dpkg, again while another dpkg or apt holds
// dpkg's lock (exit 2: "dpkg frontend lock was locked by another process",
// "dpkg status database is locked by another process"), for up to
// dpkgLockWait and within ctx.
func dpkgWaitingForLock(ctx context.Context, run *opRun, spec cmdSpec) (cmdResult, error) {
	deadline := time.Now().Add(dpkgLockWait)
	for {
		res, err := run.exec(ctx, spec)
		if err != nil || res.ExitCode != 2 || !bytes.Contains(res.Stderr, []byte("locked by another process")) {
			return res, err
		}
		if time.Now().After(deadline) {
			return res, agentproto.Errorf(agentproto.CodeLockHeld, "%s: dpkg's lock still held after %s: %s", strings.Join(spec.Args, " "), dpkgLockWait, clip(strings.TrimSpace(string(res.Stderr)), 512))
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%s: waiting for dpkg's lock: %w", strings.Join(spec.Args, " "), ctx.Err())
		case <-time.After(dpkgLockRetry):
		}
	}
}

// holdPackage pins p.Package against automatic upgrades (OpPackageHold).
func (a *Agent) holdPackage(ctx context.Context, run *opRun, p *agentproto.HoldParams) (*agentproto.HoldResult, error) {
	isDeb := p.Format == "deb"
	if p.Format == "" {
		pm := a.detectPackageManager()
		isDeb = pm == "apt" || pm == "dpkg"
	}
	held, method := a.hold(ctx, run, p.Package, isDeb)
	if !held {
		return nil, agentproto.Errorf(agentproto.CodeCommandFailed, "could not hold %s against automatic upgrades (%s)", p.Package, method)
	}
	return &agentproto.HoldResult{Method: method}, nil
}
