package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
)

// traced records the argv (base name of argv[0]) and environment keys of
// every command the agent runs.
type traced struct {
	mu   sync.Mutex
	argv [][]string
	env  [][]string
}

func trace(a *Agent) *traced {
	tr := &traced{}
	a.Trace = func(argv, keys []string) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		argv = append([]string(nil), argv...)
		argv[0] = filepath.Base(argv[0])
		tr.argv = append(tr.argv, argv)
		tr.env = append(tr.env, keys)
	}
	return tr
}

// lines joins every traced argv with spaces.
func (tr *traced) lines() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, a := range tr.argv {
		out = append(out, strings.Join(a, " "))
	}
	return out
}

// stagePkg uploads a package file named name and stages it.
func stagePkg(t *testing.T, a *Agent, name string) *agentproto.Reply {
	t.Helper()
	up := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(up, []byte("pkg"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := filehash.SHA256(up)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: agentproto.SourceUpload, UploadedPath: up, SHA256: sum}))
	return rep
}

func stageResult(t *testing.T, rep *agentproto.Reply) agentproto.StageResult {
	t.Helper()
	return decoded[agentproto.StageResult](t, rep)
}

// Staging a .deb reads its name and version and asks apt-get to simulate
// its install against dpkg's status alone: met when apt would change
// nothing but this package.
func TestStageChecksDebDependencies(t *testing.T) {
	for _, c := range []struct {
		name, apt string
		met       bool
		detailHas string
	}{
		{"met", `echo 'Inst kong [2.8.4] (3.4.2 local-deb [amd64])'; echo 'Conf kong (3.4.2 local-deb [amd64])'`, true, ""},
		{"already installed", `echo 'kong is already the newest version (3.4.2).'`, true, ""},
		{"missing", `echo 'The following packages have unmet dependencies:'; echo ' kong : Depends: libyaml-0-2 but it is not installable'; echo 'E: Unable to correct problems, you have held broken packages.' >&2; exit 100`, false, "Depends: libyaml-0-2"},
		{"pulls another", `echo 'Inst libyaml-0-2 (0.2.5-1 Debian:12)'; echo 'Inst kong [2.8.4] (3.4.2 local-deb [amd64])'`, false, "inst libyaml-0-2"},
		{"removes another", `echo 'Remv kong-enterprise-edition [3.4.3.5]'; echo 'Inst kong (3.4.2 local-deb [amd64])'`, false, "remv kong-enterprise-edition"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := testAgent(t)
			fakeTools(t, a, t.TempDir(), map[string]string{"dpkg-deb": `printf 'kong\t3.4.2'`, "apt-get": c.apt})
			tr := trace(a)
			r := stageResult(t, stagePkg(t, a, "kong_3.4.2_amd64.deb"))
			if r.Package != "kong" || r.PackageVersion != "3.4.2" || r.DepsMet != c.met || !strings.Contains(r.DepsDetail, c.detailHas) {
				t.Fatalf("staged %+v: want kong 3.4.2, deps met %v, detail with %q", r, c.met, c.detailHas)
			}
			want := []string{
				"dpkg-deb -W --showformat=${Package}\t${Version} " + r.Path,
				"apt-get install -s -y --allow-change-held-packages -o DPkg::Lock::Timeout=300 " + strings.Join(aptLocalOnly, " ") + " --allow-downgrades " + r.Path,
			}
			if got := tr.lines(); !slices.Equal(got, want) {
				t.Fatalf("commands:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// A file dpkg-deb cannot read fails the staging, before any downtime.
func TestStageRefusesUnreadableDeb(t *testing.T) {
	a := testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{"dpkg-deb": `echo 'dpkg-deb: error: unexpected end of file' >&2; exit 2`, "apt-get": "exit 0"})
	rep := stagePkg(t, a, "kong_3.4.2_amd64.deb")
	if rep.Error == nil || rep.Error.Code != agentproto.CodeCommandFailed || !strings.Contains(rep.Error.Message, "unexpected end of file") {
		t.Fatalf("reply error %+v, want %s naming dpkg-deb's complaint", rep.Error, agentproto.CodeCommandFailed)
	}
}

// An .rpm: digests (rpm -K --nosignature), then name and version (rpm
// -qp), then the dependencies (rpm -U --test).
func TestStageChecksRPM(t *testing.T) {
	rpm := func(digest, test string) string {
		return `case "$1 $2" in
"-K --nosignature") ` + digest + ` ;;
"-qp --qf") printf 'kong\t3.4.2-1' ;;
"-U --test") ` + test + ` ;;
*) exit 9 ;;
esac`
	}
	a := testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{"rpm": rpm("echo digests OK", `echo 'error: Failed dependencies:' >&2; echo '	libyaml is needed by kong-3.4.2-1.x86_64' >&2; exit 1`)})
	tr := trace(a)
	r := stageResult(t, stagePkg(t, a, "kong_3.4.2_amd64.rpm"))
	if r.Package != "kong" || r.PackageVersion != "3.4.2-1" || r.DepsMet || !strings.Contains(r.DepsDetail, "libyaml is needed") {
		t.Fatalf("staged %+v: want kong 3.4.2-1, deps not met naming libyaml", r)
	}
	want := []string{
		"rpm -K --nosignature " + r.Path,
		"rpm -qp --qf %{NAME}\t%{VERSION}-%{RELEASE} " + r.Path,
		"rpm -U --test --oldpackage --replacepkgs " + r.Path,
	}
	if got := tr.lines(); !slices.Equal(got, want) {
		t.Fatalf("commands:\n%q\nwant\n%q", got, want)
	}

	a = testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{"rpm": rpm(`echo 'kong.rpm: DIGESTS NOT OK'; exit 1`, "exit 0")})
	rep := stagePkg(t, a, "kong_3.4.2_amd64.rpm")
	if rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("corrupt rpm staged: %+v, want %s", rep.Error, agentproto.CodeChecksumMismatch)
	}
}

// leanNode fakes dpkg (script dpkg), rpm, kong and every tool the full
// install would use; it returns a staged-looking package path.
func leanNode(t *testing.T, a *Agent, ext string, tools map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{
		"dpkg":       "exit 0",
		"rpm":        "exit 0",
		"dpkg-deb":   `printf 'kong\t3.4.2'`,
		"dpkg-query": `printf '3.4.2\tinstall ok installed'`,
		"apt-get":    "exit 0",
		"apt-mark":   "exit 0",
		"dnf":        "exit 0",
		"kong":       "echo 3.4.2",
	}
	for k, v := range tools {
		all[k] = v
	}
	fakeTools(t, a, dir, all)
	pkg := filepath.Join(dir, "kong_3.4.2_amd64."+ext)
	if err := os.WriteFile(pkg, []byte("pkg"), 0o600); err != nil {
		t.Fatal(err)
	}
	return pkg
}

// Lean: dpkg -i of the staged file and one `kong version`, nothing else
// (no dpkg-deb, dpkg-query, apt-get, no hold).
func TestInstallLeanDeb(t *testing.T) {
	a := testAgent(t)
	pkg := leanNode(t, a, "deb", nil)
	sum, _ := filehash.SHA256(pkg)
	tr := trace(a)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, SHA256: sum, Package: "kong", AllowDowngrade: true, Hold: true, Lean: true, ExpectVersion: "3.4.2"}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	want := []string{"dpkg -i " + pkg, "kong version"}
	if got := tr.lines(); !slices.Equal(got, want) {
		t.Fatalf("commands %q, want %q", got, want)
	}
	if !slices.Contains(tr.env[0], "DEBIAN_FRONTEND") {
		t.Errorf("dpkg ran without DEBIAN_FRONTEND: %q", tr.env[0])
	}
	if r := installResult(t, rep); !r.Lean || r.Method != "dpkg -i "+pkg || r.KongVersion != "3.4.2" || r.Held {
		t.Errorf("result %+v, want a lean dpkg -i, kong 3.4.2, no hold", r)
	}

	// The version check still holds the install to account.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Lean: true, ExpectVersion: "3.9.1"}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "want 3.9.1") {
		t.Fatalf("wrong version after a lean install: %+v", rep.Error)
	}
}

// Another dpkg or apt holds dpkg's lock: dpkg -i is tried again until it
// gets it.
func TestInstallLeanWaitsForDpkgLock(t *testing.T) {
	defer func(d time.Duration) { dpkgLockRetry = d }(dpkgLockRetry)
	dpkgLockRetry = 10 * time.Millisecond
	a := testAgent(t)
	count := filepath.Join(t.TempDir(), "count")
	pkg := leanNode(t, a, "deb", map[string]string{"dpkg": `echo x >> ` + count + `
if [ $(wc -l < ` + count + `) -le 2 ]; then
  echo 'dpkg: error: dpkg frontend lock was locked by another process with pid 4242' >&2; exit 2
fi`})
	tr := trace(a)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Lean: true}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	want := []string{"dpkg -i " + pkg, "dpkg -i " + pkg, "dpkg -i " + pkg, "kong version"}
	if got := tr.lines(); !slices.Equal(got, want) {
		t.Fatalf("commands %q, want %q", got, want)
	}

	// Held for longer than the wait: a typed error, no further tries.
	defer func(d time.Duration) { dpkgLockWait = d }(dpkgLockWait)
	dpkgLockWait = 30 * time.Millisecond
	pkg = leanNode(t, a, "deb", map[string]string{"dpkg": `echo 'dpkg: error: dpkg status database is locked by another process' >&2; exit 2`})
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Lean: true}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeLockHeld {
		t.Fatalf("lock held throughout: %+v, want %s", rep.Error, agentproto.CodeLockHeld)
	}
}

// A dependency gone missing since the staging: dpkg leaves the package
// unconfigured, and apt-get finishes the install (local-only, then with
// the repositories).
func TestInstallLeanFallsBackToApt(t *testing.T) {
	a := testAgent(t)
	pkg := leanNode(t, a, "deb", map[string]string{
		"dpkg":       `echo 'dpkg: error processing package kong (--install):' >&2; echo ' dependency problems - leaving unconfigured' >&2; exit 1`,
		"dpkg-query": `printf '3.4.2\tinstall ok unpacked'`,
		"apt-get": `case "$*" in
*Dir::Etc::SourceList=/dev/null*) echo ' kong : Depends: libyaml-0-2 but it is not installable'; exit 100 ;;
*) echo 'Unpacking libyaml-0-2'; exit 0 ;;
esac`,
	})
	tr := trace(a)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "apt", Package: "kong", Hold: true, Lean: true}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	got := tr.lines()
	if got[0] != "dpkg -i "+pkg || !slices.ContainsFunc(got, func(l string) bool {
		return strings.HasPrefix(l, "apt-get install") && !strings.Contains(l, "SourceList")
	}) {
		t.Fatalf("commands %q: want dpkg -i, then apt-get with the repositories", got)
	}
	r := installResult(t, rep)
	if r.Lean || !strings.HasPrefix(r.Method, "apt-get install") || !r.Held || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "dependency missing") {
		t.Errorf("result %+v: want apt's install, held, a warning about the missing dependency", r)
	}
}

// Lean on an RPM host: rpm -U --oldpackage --replacepkgs, never dnf.
func TestInstallLeanRPM(t *testing.T) {
	a := testAgent(t)
	pkg := leanNode(t, a, "rpm", nil)
	tr := trace(a)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "dnf", Package: "kong", Lean: true, ExpectVersion: "3.4.2"}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	want := []string{"rpm -U --oldpackage --replacepkgs " + pkg, "kong version"}
	if got := tr.lines(); !slices.Equal(got, want) {
		t.Fatalf("commands %q, want %q", got, want)
	}
}

// The hold on its own: dpkg's selection on a deb host, versionlock with
// dnf; a hold that cannot be set is an error.
func TestHoldPackage(t *testing.T) {
	a := testAgent(t)
	sel := filepath.Join(t.TempDir(), "selections")
	leanNode(t, a, "deb", map[string]string{"dpkg": `cat > ` + sel})
	tr := trace(a)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageHold, agentproto.HoldParams{Package: "kong", Format: "deb"}))
	r, err := agentproto.DecodeResult[agentproto.HoldResult](rep)
	if err != nil || r.Method != "dpkg --set-selections" {
		t.Fatalf("hold: %+v %v", r, err)
	}
	if b, _ := os.ReadFile(sel); string(b) != "kong hold\n" {
		t.Errorf("dpkg --set-selections read %q", b)
	}
	if got := tr.lines(); !slices.Equal(got, []string{"dpkg --set-selections"}) {
		t.Errorf("commands %q", got)
	}

	a = testAgent(t)
	leanNode(t, a, "rpm", nil)
	tr = trace(a)
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageHold, agentproto.HoldParams{Package: "kong-enterprise-edition", Format: "rpm"}))
	if rep.Error != nil {
		t.Fatalf("hold: %+v", rep.Error)
	}
	want := []string{"dnf versionlock --help", "dnf versionlock delete kong-enterprise-edition", "dnf versionlock add kong-enterprise-edition"}
	if got := tr.lines(); !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}

	a = testAgent(t)
	leanNode(t, a, "rpm", map[string]string{"dnf": "exit 1"})
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageHold, agentproto.HoldParams{Package: "kong", Format: "rpm"}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeCommandFailed || !strings.Contains(rep.Error.Message, "versionlock plugin not installed") {
		t.Fatalf("hold without the versionlock plugin: %+v", rep.Error)
	}
}

// The sha256 staging computed is trusted at the install while the file is
// the one staging hashed; rewritten (even to its old size and mtime), it
// is read again and refused.
func TestStagedSumStamp(t *testing.T) {
	a := testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{"dpkg-deb": `printf 'kong\t3.4.2'`, "apt-get": "exit 0"})
	r := stageResult(t, stagePkg(t, a, "kong_3.4.2_amd64.deb"))
	if fromStamp, err := a.checkStagedSum(r.Path, r.SHA256); err != nil || !fromStamp {
		t.Fatalf("staged file: from stamp %v, %v; want the stamp trusted", fromStamp, err)
	}
	if fromStamp, err := a.checkStagedSum(r.Path, strings.Repeat("b", 64)); err == nil || fromStamp {
		t.Fatalf("another sum: from stamp %v, %v; want the file read and refused", fromStamp, err)
	}
	fi, err := os.Stat(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Path, []byte("PKG"), 0o600); err != nil { // same size
		t.Fatal(err)
	}
	if err := os.Chtimes(r.Path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	fromStamp, err := a.checkStagedSum(r.Path, r.SHA256)
	if fromStamp || agentproto.CodeOf(err) != agentproto.CodeChecksumMismatch {
		t.Fatalf("rewritten file: from stamp %v, %v; want it read and refused (%s)", fromStamp, err, agentproto.CodeChecksumMismatch)
	}
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: r.Path, SHA256: r.SHA256, Lean: true}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("install of the rewritten file: %+v, want %s", rep.Error, agentproto.CodeChecksumMismatch)
	}
}
