package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// What `dpkg --audit` prints decides the repair; a dpkg that fails
// without saying what is broken is an error, not a clean database.
func TestAuditFindings(t *testing.T) {
	for _, c := range []struct {
		name           string
		exit           int
		stdout, stderr string
		want           string
		err            bool
	}{
		{"clean", 0, "", "", "", false},
		{"clean with blank lines", 0, "\n\n", "", "", false},
		{"unconfigured (dpkg 1.21 exits 1)", 1, "The following packages have been unpacked but not yet configured.\n kong   Kong simulator\n", "", "The following packages have been unpacked but not yet configured.\n kong   Kong simulator", false},
		{"half-configured, exit 0", 0, "The following packages are only half configured\n kong\n", "", "The following packages are only half configured\n kong", false},
		{"dpkg's own failure", 2, "", "dpkg: error: dpkg status database is locked by another process", "", true},
	} {
		got, err := auditFindings(c.exit, []byte(c.stdout), []byte(c.stderr))
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: auditFindings = %q, %v; want %q, error %v", c.name, got, err, c.want, c.err)
		}
		if c.err && err != nil && !strings.Contains(err.Error(), "locked by another process") {
			t.Errorf("%s: error %q should carry dpkg's stderr", c.name, err)
		}
	}
}

// fakeDpkg is a dpkg whose --audit reports kong unconfigured while the
// file broken exists; --configure -a removes it (exit configureExit) and
// records the DEBIAN_FRONTEND it ran with. Every call is logged.
func fakeDpkg(t *testing.T, a *Agent, configureExit string) (broken, log string) {
	t.Helper()
	dir := t.TempDir()
	broken, log = filepath.Join(dir, "broken"), filepath.Join(dir, "dpkg.log")
	fakeTools(t, a, dir, map[string]string{
		"dpkg": `echo "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ` + log + `
case "$1" in
--audit) [ -e ` + broken + ` ] && printf 'The following packages have been unpacked but not yet configured.\n kong\n' && exit 1; exit 0 ;;
--configure) echo 'Setting up kong (3.4.2) ...'; [ ` + configureExit + ` = 0 ] && rm -f ` + broken + `; echo 'post-install script failed' >&2; exit ` + configureExit + ` ;;
esac`,
		"apt-get": "exit 0",
	})
	return broken, log
}

func TestRepairDpkgConfiguresAnInterruptedInstall(t *testing.T) {
	a := testAgent(t)
	broken, log := fakeDpkg(t, a, "0")
	os.WriteFile(broken, nil, 0o600)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageRepair, agentproto.RepairParams{Package: "kong"}))
	if rep.Error != nil {
		t.Fatalf("repair: %+v", rep.Error)
	}
	r := decoded[agentproto.RepairResult](t, rep)
	if r.Checked != "dpkg --audit" || !strings.Contains(r.Found, "unpacked but not yet configured") || r.Repaired != "dpkg --configure -a" || !strings.Contains(r.Output, "Setting up kong") {
		t.Fatalf("result %+v", r)
	}
	calls := aptCalls(t, log)
	want := []string{"--audit DEBIAN_FRONTEND=", "--configure -a DEBIAN_FRONTEND=noninteractive", "--audit DEBIAN_FRONTEND="}
	if !slices.Equal(calls, want) {
		t.Fatalf("dpkg calls %q, want %q", calls, want)
	}

	// Clean now: audited once, nothing run.
	os.Remove(log)
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageRepair, agentproto.RepairParams{Package: "kong", Format: "deb"}))
	if r := decoded[agentproto.RepairResult](t, rep); r.Found != "" || r.Repaired != "" {
		t.Fatalf("clean node repaired: %+v", r)
	}
	if calls := aptCalls(t, log); !slices.Equal(calls, want[:1]) {
		t.Fatalf("dpkg calls on a clean node %q", calls)
	}
}

// A repair that fails is an error carrying the command and its output.
func TestRepairDpkgFailureNamesTheOutput(t *testing.T) {
	a := testAgent(t)
	broken, _ := fakeDpkg(t, a, "1")
	os.WriteFile(broken, nil, 0o600)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageRepair, agentproto.RepairParams{Package: "kong"}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeCommandFailed ||
		!strings.Contains(rep.Error.Message, "dpkg --configure -a exited 1") || !strings.Contains(rep.Error.Message, "post-install script failed") {
		t.Fatalf("error %+v", rep.Error)
	}
}

// On rpm hosts the version installed last is kept (here the downgrade of
// a rollback: the older version), the others erased without scriptlets.
func TestRepairRpmDuplicates(t *testing.T) {
	a := testAgent(t)
	dir := t.TempDir()
	log, erased := filepath.Join(dir, "rpm.log"), filepath.Join(dir, "erased")
	fakeTools(t, a, dir, map[string]string{"rpm": `echo "$*" >> ` + log + `
case "$1" in
-q) if [ -e ` + erased + ` ]; then echo '1700000100 kong-2.8.4-1.x86_64'; else printf '1700000000 kong-3.4.2-1.x86_64\n1700000100 kong-2.8.4-1.x86_64\n'; fi ;;
-e) touch ` + erased + ` ;;
esac`})
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageRepair, agentproto.RepairParams{Package: "kong", Format: "rpm"}))
	if rep.Error != nil {
		t.Fatalf("repair: %+v", rep.Error)
	}
	r := decoded[agentproto.RepairResult](t, rep)
	if r.Repaired != "rpm -e --nodeps --noscripts kong-3.4.2-1.x86_64" || !strings.Contains(r.Found, "2 versions of kong") {
		t.Fatalf("result %+v", r)
	}
	if got := parseOrFail(t, "1 kong-1-1.x86_64\n"); len(rpmExtras(got)) != 0 {
		t.Fatal("one version is no duplicate")
	}
}

func parseOrFail(t *testing.T, out string) []rpmEntry {
	t.Helper()
	e, err := parseRpmEntries(out)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The install runs as a detached step: its record holds the reply, a
// second start with the same id attaches and never installs twice, and a
// repair waits for an install still running before it audits.
func TestDetachedInstallRecordAndRepairWaits(t *testing.T) {
	a := testAgent(t)
	pkg, log := fakeAptNode(t, a, "sleep 1; echo 'Preparing to unpack'; exit 0", "exit 0")
	req := mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "apt", AllowDowngrade: true, ExpectVersion: "3.4.2"})
	req.Detach, req.StepID = true, "20260301T100000Z-abcdef-install-n1-1"
	rep, _ := rpc(t, a, req)
	if st := decoded[agentproto.StepStatus](t, rep); !st.Started || st.State != agentproto.StepRunning {
		t.Fatalf("start: %+v", st)
	}
	// The fake dpkg's audit is clean; the repair must come after the install.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dpkg"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageRepair, agentproto.RepairParams{Package: "kong", Format: "deb"}))
	r := decoded[agentproto.RepairResult](t, rep)
	if !slices.Equal(r.WaitedFor, []string{req.StepID}) {
		t.Fatalf("repair waited for %q, want the running install", r.WaitedFor)
	}
	rec, err := a.readStep(req.StepID)
	if err != nil || rec.State != agentproto.StepDone || rec.Op != agentproto.OpPackageInstall || rec.Reply == nil || rec.Reply.Error != nil {
		t.Fatalf("record after the repair's wait: %+v %v", rec, err)
	}
	if res := installResult(t, rec.Reply); res.KongVersion != "3.4.2" {
		t.Fatalf("recorded result %+v", res)
	}
	req.AttachWait = 10 * time.Second
	rep, _ = rpc(t, a, req)
	if ar := decoded[agentproto.AttachResult](t, rep); ar.Status.State != agentproto.StepDone || ar.Reply == nil {
		t.Fatalf("re-attach: %+v", ar)
	}
	if calls := aptCalls(t, log); len(calls) != 1 {
		t.Fatalf("apt-get ran %d times, want once: %q", len(calls), calls)
	}
}
