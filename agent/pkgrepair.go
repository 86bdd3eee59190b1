package agent

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// repairPackages (OpPackageRepair) finishes a package operation that was
// cut off half-way. Installs run detached (a killed controller does not
// kill them), so what is left half-done comes from a package manager that
// was itself killed (a reboot, the OOM killer, an operator's kill) or a
// hand-run `dpkg --unpack`. Running installs are waited for first: their
// package manager is busy, not broken.
func (a *Agent) repairPackages(ctx context.Context, run *opRun, p *agentproto.RepairParams) (*agentproto.RepairResult, error) {
	r := &agentproto.RepairResult{}
	wait := p.StepWait
	if wait <= 0 {
		wait = agentproto.DefaultRepairStepWait
	}
	waited, err := a.waitInstallSteps(ctx, wait)
	r.WaitedFor = waited
	if err != nil {
		return r, err
	}
	isDeb := p.Format == "deb"
	if p.Format == "" {
		pm := a.detectPackageManager()
		isDeb = pm == "apt" || pm == "dpkg"
	}
	if isDeb {
		return r, a.repairDpkg(ctx, run, r)
	}
	return r, a.repairRpm(ctx, run, p.Package, r)
}

// waitInstallSteps waits up to wait for the detached package.install
// steps still running on the node and returns their ids.
func (a *Agent) waitInstallSteps(ctx context.Context, wait time.Duration) ([]string, error) {
	deadline := a.Now().Add(wait)
	var waited []string
	for {
		running := a.runningSteps(agentproto.OpPackageInstall)
		for _, id := range running {
			if !slices.Contains(waited, id) {
				waited = append(waited, id)
			}
		}
		if len(running) == 0 {
			return waited, nil
		}
		if !a.Now().Before(deadline) {
			return waited, agentproto.Errorf(agentproto.CodeTimeout, "package install step %s still running after %s", strings.Join(running, ", "), wait)
		}
		select {
		case <-ctx.Done():
			return waited, fmt.Errorf("wait for package install step %s: %w", strings.Join(running, ", "), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// runningSteps lists the detached steps of op whose runner still runs.
func (a *Agent) runningSteps(op agentproto.Op) []string {
	ents, _ := os.ReadDir(a.stepsDir())
	var ids []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !agentproto.ValidStepID(id) {
			continue
		}
		rec, err := a.readStep(id)
		if err != nil || rec.Op != op {
			continue
		}
		a.checkLost(rec)
		if rec.State == agentproto.StepRunning {
			ids = append(ids, id)
		}
	}
	return ids
}

var dpkgAudit = []string{"dpkg", "--audit"}

// repairDpkg runs `dpkg --configure -a` when `dpkg --audit` reports a
// package left unpacked, half-configured or with triggers pending, with
// the environment the agent's own installs use, then audits again: the
// repair failed if anything is still reported (a half-installed package,
// whose files dpkg cannot vouch for, needs a reinstall, which is the
// operator's decision).
func (a *Agent) repairDpkg(ctx context.Context, run *opRun, r *agentproto.RepairResult) error {
	r.Checked = strings.Join(dpkgAudit, " ")
	found, err := a.dpkgAudit(ctx, run)
	if err != nil || found == "" {
		return err
	}
	r.Found = clip(found, 2048)
	args := []string{"dpkg", "--configure", "-a"}
	r.Repaired = strings.Join(args, " ")
	res, err := dpkgWaitingForLock(ctx, run, cmdSpec{Args: args, Env: noninteractive})
	if err != nil {
		return fmt.Errorf("%s: %w", r.Repaired, err)
	}
	r.Output = clip(strings.TrimSpace(string(res.Stdout)+"\n"+string(res.Stderr)), 2048)
	if res.ExitCode != 0 {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", r.Repaired, res.ExitCode, r.Output)
	}
	left, err := a.dpkgAudit(ctx, run)
	if err != nil {
		return err
	}
	if left != "" {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "after %s, %s still reports: %s", r.Repaired, r.Checked, clip(left, 1024))
	}
	return nil
}

// dpkgAudit returns what `dpkg --audit` reports ("" when nothing).
func (a *Agent) dpkgAudit(ctx context.Context, run *opRun) (string, error) {
	res, err := run.exec(ctx, cmdSpec{Args: dpkgAudit})
	if err != nil {
		return "", fmt.Errorf("dpkg --audit: %w", err)
	}
	return auditFindings(res.ExitCode, res.Stdout, res.Stderr)
}

// auditFindings reads `dpkg --audit`: what it prints on stdout is the
// list of packages left in a broken state (dpkg 1.21 exits 0 or 1 with
// it, older ones 0); a failure with nothing printed is dpkg's own
// (database locked, unreadable).
func auditFindings(exit int, stdout, stderr []byte) (string, error) {
	out := strings.TrimSpace(string(stdout))
	if out != "" {
		return out, nil
	}
	if exit != 0 {
		return "", agentproto.Errorf(agentproto.CodeCommandFailed, "dpkg --audit exited %d: %s", exit, clip(strings.TrimSpace(string(stderr)), 1024))
	}
	return "", nil
}

// rpmEntry is one installed version of a package in rpm's database.
type rpmEntry struct {
	installed int64  // INSTALLTIME, seconds
	nevra     string // name-version-release.arch
}

const rpmEntryFormat = "%{INSTALLTIME} %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n"

// repairRpm removes the extra versions of pkg that an rpm transaction cut
// off half-way leaves in the database. rpm -U adds the new version before
// it erases the old one, so a killed transaction shows both; the one to
// keep is the one installed last (INSTALLTIME), which is the one the
// transaction was installing, an upgrade or the downgrade of a rollback
// alike: dnf's `remove --duplicates` keeps the highest version instead,
// which is wrong for a downgrade, and yum and plain rpm hosts have no
// such command. The others are erased with --noscripts (the erase half of
// an upgrade runs the old package's scriptlets as an upgrade; run as an
// erase they could stop or disable the service the kept version owns)
// and --nodeps (the kept version provides the same). Files the kept
// version owns stay: rpm erases only files no other package owns.
func (a *Agent) repairRpm(ctx context.Context, run *opRun, pkg string, r *agentproto.RepairResult) error {
	q := []string{"rpm", "-q", "--qf", rpmEntryFormat, pkg}
	r.Checked = strings.Join(q, " ")
	entries, err := a.rpmEntries(ctx, run, q)
	if err != nil {
		return err
	}
	extra := rpmExtras(entries)
	if len(extra) == 0 {
		return nil
	}
	all := make([]string, len(entries))
	for i, e := range entries {
		all[i] = e.nevra
	}
	r.Found = fmt.Sprintf("%d versions of %s installed: %s", len(entries), pkg, strings.Join(all, ", "))
	args := append([]string{"rpm", "-e", "--nodeps", "--noscripts"}, extra...)
	r.Repaired = strings.Join(args, " ")
	res, err := run.exec(ctx, cmdSpec{Args: args})
	if err != nil {
		return fmt.Errorf("%s: %w", r.Repaired, err)
	}
	r.Output = clip(strings.TrimSpace(string(res.Stdout)+"\n"+string(res.Stderr)), 2048)
	if res.ExitCode != 0 {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", r.Repaired, res.ExitCode, r.Output)
	}
	left, err := a.rpmEntries(ctx, run, q)
	if err != nil {
		return err
	}
	if len(left) > 1 {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "after %s, rpm still lists %d versions of %s", r.Repaired, len(left), pkg)
	}
	return nil
}

// rpmEntries runs q; a package not installed is no entry.
func (a *Agent) rpmEntries(ctx context.Context, run *opRun, q []string) ([]rpmEntry, error) {
	res, err := run.exec(ctx, cmdSpec{Args: q})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(q, " "), err)
	}
	if res.ExitCode != 0 {
		if strings.Contains(string(res.Stdout)+string(res.Stderr), "is not installed") {
			return nil, nil
		}
		return nil, agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d: %s", strings.Join(q, " "), res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 1024))
	}
	return parseRpmEntries(string(res.Stdout))
}

// parseRpmEntries reads rpmEntryFormat lines.
func parseRpmEntries(out string) ([]rpmEntry, error) {
	var entries []rpmEntry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		ts, nevra, ok := strings.Cut(line, " ")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || nevra == "" {
			return nil, agentproto.Errorf(agentproto.CodeCommandFailed, "rpm -q: unexpected line %q", clip(line, 200))
		}
		entries = append(entries, rpmEntry{installed: t, nevra: nevra})
	}
	return entries, nil
}

// rpmExtras are the entries to erase: all but the one installed last.
func rpmExtras(entries []rpmEntry) []string {
	if len(entries) < 2 {
		return nil
	}
	keep := 0
	for i, e := range entries {
		if e.installed > entries[keep].installed {
			keep = i
		}
	}
	var out []string
	for i, e := range entries {
		if i != keep {
			out = append(out, e.nevra)
		}
	}
	return out
}
