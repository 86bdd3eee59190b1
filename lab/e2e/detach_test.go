//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// sshOut runs command on host over SSH; a failure ends the test.
func (e *env) sshOut(host, command string) string {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.SSH(ctx, host, command)
	if err != nil {
		e.t.Fatalf("%s: %s: %v: %s", host, command, err, out)
	}
	return out
}

// kongPackage is kong's package state on host: "<version> <dpkg status>",
// e.g. "3.4.2 install ok installed" or "3.4.2 install ok half-configured".
func (e *env) kongPackage(host string) string {
	return strings.TrimSpace(e.sshOut(host, "dpkg-query -W -f='${Version} ${Status}' kong"))
}

// dpkgAudit is what `dpkg --audit` reports on host ("" when clean).
func (e *env) dpkgAudit(host string) string {
	return strings.TrimSpace(e.sshOut(host, "dpkg --audit; true"))
}

// interruptAtInstall starts an upgrade and sends it one SIGINT as the
// install phase starts: the run must pause (exit 4).
func (e *env) interruptAtInstall() {
	e.t.Helper()
	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	run.waitEvent(e.t, 3*time.Minute, "the install phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "install"
	})
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		e.t.Fatal(err)
	}
	if code := run.wait(e.t, 2*time.Minute); code != 4 {
		e.t.Fatalf("kongctl after one SIGINT: exit %d, want 4 (paused)", code)
	}
}

// resumeToY runs `kongctl upgrade --resume` (with args), which must
// complete with every node on 3.4.2, serving, and `dpkg --audit` clean.
func (e *env) resumeToY(nodes []string, args ...string) result {
	e.t.Helper()
	r := e.kongctl(append([]string{"upgrade", "-i", e.inv, "--resume", "--yes"}, args...)...)
	if r.code != 0 {
		e.t.Fatalf("upgrade --resume: %s", r)
	}
	e.requireVersion("3.4.2", nodes...)
	e.requireServing(nodes, labRoutes)
	for _, h := range nodes {
		if a := e.dpkgAudit(h); a != "" {
			e.t.Errorf("%s: dpkg --audit reports\n%s", h, a)
		}
	}
	return r
}

// settled: the package manager is done with kong (no half state).
func settled(pkg string) bool {
	return strings.HasSuffix(pkg, " ok installed")
}

// Issue 20: two SIGINTs to the controller (the second stops waiting and
// cancels its calls) while the package manager is configuring Y on the
// nodes (their postinst held 8 s by a lab fault) do not cut the install
// off: it runs detached on each node and finishes there on its own (kong on Y, `dpkg --audit` clean, the agent's
// step record done). `kongctl upgrade --resume` then re-attaches to those
// steps by their ids (no second install step on any node) and completes
// with every node on Y.
func TestSecondSIGINTLeavesInstallsToFinish(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	for _, h := range nodes {
		e.writeFault(h, "FAKE_KONG_POSTINST_SLEEP=8")
	}

	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	ev := run.waitEvent(t, 3*time.Minute, "the install phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "install"
	})
	// The migration node installs first; the others install beside its
	// migrations. Kill when two nodes are mid-configure at once.
	var cut []string
	for deadline := time.Now().Add(2 * time.Minute); len(cut) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no two nodes configuring Y at once (caught %q)", cut)
		}
		cut = cut[:0]
		for _, h := range nodes {
			if p := e.kongPackage(h); strings.HasPrefix(p, "3.4.2 ") && !settled(p) {
				cut = append(cut, h)
			}
		}
	}
	// Two SIGINTs: the second stops waiting (the controller cancels its
	// calls, which used to kill the agent and its dpkg on the node).
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 30*time.Second); code != 4 {
		t.Fatalf("kongctl after two SIGINTs: exit %d, want 4 (interrupted, paused)\n%s", code, run.stderr)
	}
	if msg := run.stderr.String(); !strings.Contains(msg, "keep running on the nodes") || !strings.Contains(msg, "--resume` re-attaches") {
		t.Errorf("the second SIGINT's message does not say the node steps keep running and --resume re-attaches:\n%s", msg)
	}
	t.Logf("stopped run %s with two SIGINTs while %s were configuring Y", ev.RunID, strings.Join(cut, ", "))

	// No controller: the installs finish on their own.
	for _, h := range cut {
		var p string
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
			if p = e.kongPackage(h); settled(p) || time.Now().After(deadline) {
				break
			}
		}
		if p != "3.4.2 install ok installed" && p != "3.4.2 hold ok installed" {
			t.Errorf("%s after the controller stopped: kong package %q, want 3.4.2 installed", h, p)
		}
		if a := e.dpkgAudit(h); a != "" {
			t.Errorf("%s after the controller stopped: dpkg --audit reports\n%s", h, a)
		}
		if st := e.installStepStates(h, ev.RunID); len(st) != 1 || st[0] != "done" {
			t.Errorf("%s: install step records of run %s: %q, want one, done", h, ev.RunID, st)
		}
	}
	for _, h := range nodes {
		if p := e.kongPackage(h); !settled(p) {
			t.Errorf("%s after the controller stopped: kong package %q is half done", h, p)
		}
		e.clearFault(h)
	}

	e.resumeToY(nodes)
	for _, h := range nodes {
		// The resume re-attached: still one install step of the run.
		if st := e.installStepStates(h, ev.RunID); len(st) != 1 {
			t.Errorf("%s: %d install steps of run %s, want 1 (re-attached, not run again): %q", h, len(st), ev.RunID, st)
		}
	}
}

// installStepStates reads the agent's detached install step records of
// run on host (their states).
func (e *env) installStepStates(host, run string) []string {
	e.t.Helper()
	out := e.sshOut(host, fmt.Sprintf("cat /var/lib/kongctl/steps/%s-install-*.json 2>/dev/null; true", run))
	var states []string
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var rec struct {
			State string `json:"state"`
		}
		if dec.Decode(&rec) != nil {
			return states
		}
		states = append(states, rec.State)
	}
}

// Issue 20: a node left with a half-done package operation (Y unpacked,
// never configured: `dpkg --unpack` while the run is paused) is repaired
// by `kongctl upgrade --resume` with `dpkg --configure -a` before anything
// else, the resume says so (a package-repaired finding naming the node),
// and completes with every node on Y and `dpkg --audit` clean.
func TestResumeRepairsHalfConfiguredPackage(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)

	e.interruptAtInstall()

	h := nodes[len(nodes)-1]
	deb := filepath.Join(e.lab.NodePackagesDir(), "kong_3.4.2_amd64.deb")
	e.sshOut(h, "dpkg --unpack "+deb+" >/dev/null 2>&1; true")
	if a := e.dpkgAudit(h); !strings.Contains(a, "kong") {
		t.Fatalf("%s: test setup: dpkg --audit should report kong unconfigured, got %q", h, a)
	}

	r := e.resumeToY(nodes, "--output", "json")
	var repaired *event
	for _, line := range strings.Split(r.stdout, "\n") {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Code == "package-repaired" {
			repaired = &ev
		}
	}
	if repaired == nil || repaired.Host != h || !strings.Contains(repaired.Message, "dpkg --configure -a") {
		t.Errorf("no package-repaired finding for %s in the resume's output: %+v\n%s", h, repaired, r.stdout)
	}
}

// On RPM hosts an `rpm -U` cut off half-way leaves two versions of kong
// in rpm's database: the new one added, the old one not yet erased. The
// test makes that state by hand on a node still on X (rpm -i of Y beside
// it, after one SIGINT paused the run at the install); `--resume` must
// erase the version installed first (X here) before anything else, say
// so, and complete with one kong package, Y, on every node.
func TestResumeRepairsDuplicateRPMPackage(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2", PackageFormat: "rpm"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)

	e.interruptAtInstall()

	h := nodes[len(nodes)-1] // not the migration node: still on X
	if v := strings.TrimSpace(e.sshOut(h, "rpm -q --qf '%{VERSION}\\n' kong")); v != "2.8.4" {
		t.Fatalf("%s: test setup: rpm lists %q, want kong 2.8.4 alone", h, v)
	}
	rpmY := filepath.Join(e.lab.NodePackagesDir(), labenv.PackageFileOf(labenv.EditionOSS, "3.4.2", "rpm"))
	// INSTALLTIME has seconds: Y must be the later one.
	e.sshOut(h, "sleep 1.1; rpm -i --force --nodeps --noscripts "+rpmY+" >/dev/null 2>&1; true")
	if got := strings.Fields(e.sshOut(h, "rpm -q --qf '%{VERSION}\\n' kong")); len(got) != 2 {
		t.Fatalf("%s: test setup: rpm lists %q, want two versions of kong", h, got)
	}

	r := e.kongctl("upgrade", "-i", e.inv, "--resume", "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade --resume: %s", r)
	}
	var repaired *event
	for _, line := range strings.Split(r.stdout, "\n") {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Code == "package-repaired" {
			repaired = &ev
		}
	}
	if repaired == nil || repaired.Host != h || !strings.Contains(repaired.Message, "rpm -e") || !strings.Contains(repaired.Message, "kong-2.8.4") {
		t.Errorf("no package-repaired finding erasing kong-2.8.4 on %s in the resume's output: %+v\n%s", h, repaired, r.stdout)
	}
	e.requireVersion("3.4.2", nodes...)
	e.requireRPMPackage("kong", "3.4.2", nodes...)
	e.requireServing(nodes, labRoutes)
}
