//go:build integration

package labenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// depsFreshRoot runs in a private mount and PID namespace: the machine's
// /usr, /etc and /var become overlays (upper layers in $1) in which
// openssh-server and PostgreSQL are purged, files and dpkg's record alike,
// so this view of the machine is one they were never installed on; no
// service may start (policy-rc.d, a private /run, a PID namespace). Then
// scripts/install-deps.sh ($2) runs there as nobody, and as root.
const depsFreshRoot = `set -u
T=$1 script=$2
for d in usr etc var; do
	mkdir -p "$T/$d.u" "$T/$d.w"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/$d.u,workdir=$T/$d.w" "/$d" || exit 1
done
mount -t tmpfs kongctl-deps-run /run || exit 1
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
export DEBIAN_FRONTEND=noninteractive
dpkg --purge --force-depends openssh-server postgresql postgresql-contrib postgresql-15 >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; exit 1; }
echo "== before"
ls /usr/sbin/sshd /usr/lib/postgresql/*/bin/initdb 2>/dev/null
dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' openssh-server postgresql-15 2>/dev/null | grep '^ii' || true
echo "== as nobody"
setpriv --reuid=nobody --regid=nogroup --clear-groups bash "$script" 2>&1
echo "exit $?"
echo "== as root"
bash "$script" 2>&1
echo "exit $?"
echo "== after"
ls /usr/sbin/sshd /usr/lib/postgresql/*/bin/initdb
dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' openssh-server postgresql-15
`

// Issue 19, item 1: make deps, the first step of make rehearsal and make
// lab-up, against a root file system without openssh-server and
// PostgreSQL (the machine's own, seen through overlays in which both are
// purged): as a user it stops at once with one line naming exactly those
// two packages and the command that installs them; as root it installs
// them with apt-get from the machine's mirror (into the overlays), after
// which sshd and initdb are there. The machine itself is left untouched.
func TestInstallDepsOnARootWithoutThem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (mount namespaces, overlays)")
	}
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc",
		"bash", "-c", depsFreshRoot, "deps", dir, repo+"/scripts/install-deps.sh")
	cmd.Dir = "/"
	t0 := time.Now()
	b, err := cmd.CombinedOutput()
	out := string(b)
	t.Logf("in %.0fs:\n%s", time.Since(t0).Seconds(), out)
	if err != nil {
		t.Fatalf("namespace: %v", err)
	}
	sections := map[string]string{}
	name := ""
	for _, l := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(l, "== "); ok {
			name = n
			continue
		}
		sections[name] += l + "\n"
	}
	section := func(name string) string { return strings.TrimSpace(sections[name]) }
	if s := section("before"); s != "" {
		t.Fatalf("openssh-server or PostgreSQL still there after the purge:\n%s", s)
	}
	user := strings.Split(section("as nobody"), "\n")
	want := "install-deps: missing openssh-server postgresql; install them as root: apt-get install -y --no-install-recommends openssh-server postgresql (or: sudo make deps)"
	if len(user) != 2 || user[0] != want || user[1] != "exit 1" {
		t.Errorf("as a user, want one line and exit 1:\n%s\nhave:\n%s", want, strings.Join(user, "\n"))
	}
	root := section("as root")
	if !strings.HasPrefix(root, "install-deps: installing openssh-server postgresql\n") || !strings.HasSuffix(root, "exit 0") {
		t.Errorf("as root:\n%s", root)
	}
	after := section("after")
	for _, want := range []string{"/usr/sbin/sshd", "/bin/initdb", "ii  openssh-server", "ii  postgresql-15"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the install, no %q:\n%s", want, after)
		}
	}
	// The machine's own view never changed.
	if b, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n", "openssh-server", "postgresql-15").CombinedOutput(); err != nil || string(b) != "ii \nii \n" {
		t.Errorf("the machine's packages: %v %q", err, b)
	}
}
