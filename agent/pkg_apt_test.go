package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// fakeAptNode puts fake apt-get, dpkg-deb, dpkg-query and kong first on
// the agent's PATH. apt-get logs its argv (one line a call) to the
// returned log and behaves as the script localOnly (when the call hides
// the repositories) or full says.
func fakeAptNode(t *testing.T, a *Agent, localOnly, full string) (pkg, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "apt.log")
	fakeTools(t, a, dir, map[string]string{
		"apt-get": `echo "$*" >> ` + log + `
case "$*" in
*Dir::Etc::SourceList=/dev/null*) ` + localOnly + ` ;;
*) ` + full + ` ;;
esac`,
		"dpkg-deb":   `printf 'kong\t3.4.2'`,
		"dpkg-query": `printf '2.8.4\tinstall ok installed'`,
		"kong":       `echo 3.4.2`,
	})
	pkg = filepath.Join(dir, "kong_3.4.2_amd64.deb")
	if err := os.WriteFile(pkg, []byte("deb"), 0o600); err != nil {
		t.Fatal(err)
	}
	return pkg, log
}

// fakeTools writes each script (a /bin/sh body) as an executable named
// after its key into dir, and puts dir first on the agent's PATH.
func fakeTools(t *testing.T, a *Agent, dir string, scripts map[string]string) {
	t.Helper()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	t.Setenv("PATH", dir+":/usr/bin:/bin") // exec resolves argv[0] on the process's PATH
}

func aptCalls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// decoded is the result of a successful reply (the test fails otherwise).
func decoded[T any](t *testing.T, rep *agentproto.Reply) T {
	t.Helper()
	r, err := agentproto.DecodeResult[T](rep)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func installResult(t *testing.T, rep *agentproto.Reply) agentproto.InstallResult {
	t.Helper()
	return decoded[agentproto.InstallResult](t, rep)
}

// The staged .deb is installed by apt against the installed packages only
// (no repository lists read, no cache written): one apt-get call.
func TestInstallAptLocalOnly(t *testing.T) {
	a := testAgent(t)
	pkg, log := fakeAptNode(t, a, "echo 'Preparing to unpack'; exit 0", "exit 0")
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "apt", AllowDowngrade: true, ExpectVersion: "3.4.2"}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	calls := aptCalls(t, log)
	if len(calls) != 1 {
		t.Fatalf("apt-get ran %d times, want once: %q", len(calls), calls)
	}
	for _, want := range []string{"Dir::Etc::SourceList=/dev/null", "Dir::Etc::SourceParts=/dev/null", "Dir::Cache::pkgcache=", "DPkg::Lock::Timeout=300", "--allow-downgrades", pkg} {
		if !strings.Contains(calls[0], want) {
			t.Errorf("apt-get %q lacks %q", calls[0], want)
		}
	}
	if m := installResult(t, rep).Method; !strings.Contains(m, "SourceList=/dev/null") {
		t.Errorf("method %q should name the local-only install", m)
	}
}

// A dependency the installed packages cannot satisfy: apt stops before
// dpkg, and the install is retried with the repositories.
func TestInstallAptFallsBackToRepositories(t *testing.T) {
	a := testAgent(t)
	pkg, log := fakeAptNode(t, a,
		"echo 'The following packages have unmet dependencies:' >&2; echo 'E: Unable to correct problems, you have held broken packages.' >&2; exit 100",
		"echo 'Unpacking kong (3.4.2)'; exit 0")
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "apt"}))
	if rep.Error != nil {
		t.Fatalf("install: %+v", rep.Error)
	}
	calls := aptCalls(t, log)
	if len(calls) != 2 || strings.Contains(calls[1], "SourceList") {
		t.Fatalf("apt-get calls %q, want the local-only one then one with the repositories", calls)
	}
	if m := installResult(t, rep).Method; strings.Contains(m, "SourceList") || !strings.Contains(m, "apt-get install") {
		t.Errorf("method %q should be the install with the repositories", m)
	}
}

// A failure once dpkg ran is the package's own: reported, not retried.
func TestInstallAptDpkgFailureNotRetried(t *testing.T) {
	a := testAgent(t)
	pkg, log := fakeAptNode(t, a,
		"echo 'Preparing to unpack .../kong_3.4.2_amd64.deb ...'; echo 'E: Sub-process /usr/bin/dpkg returned an error code (1)' >&2; exit 100",
		"exit 0")
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: pkg, Manager: "apt"}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeCommandFailed {
		t.Fatalf("reply error = %+v, want %s", rep.Error, agentproto.CodeCommandFailed)
	}
	if !strings.Contains(rep.Error.Message, "dpkg returned an error code") {
		t.Errorf("error %q should carry apt's message", rep.Error.Message)
	}
	if calls := aptCalls(t, log); len(calls) != 1 {
		t.Fatalf("apt-get ran %d times, want once: %q", len(calls), calls)
	}
}
