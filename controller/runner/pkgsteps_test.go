package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
)

// killedDuringInstall runs an upgrade whose controller stops waiting (its
// context cancelled: a second Ctrl-C) right as host's detached install of
// Y finishes on the node; the run must pause.
func killedDuringInstall(t *testing.T, c *fakeCluster, spec *Spec, host string) *Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.after = func(call string) {
		if call == host+" install 3.4.2" {
			cancel()
		}
	}
	r, _ := upgrade(ctx, spec, testConfig(c))
	c.after = nil
	if r.Outcome != Paused {
		t.Fatalf("outcome %s, want paused: %s", r.Outcome, r.Error)
	}
	return r
}

// The resume re-attaches to the install the controller stopped waiting
// for, by the same step id, and never installs a second time.
func TestResumeReattachesToDetachedInstall(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	killedDuringInstall(t, c, spec, "kong-2")
	var first string
	if ids := c.installStepIDs("kong-2"); len(ids) > 0 {
		first = ids[len(ids)-1]
	}
	if !strings.Contains(first, "-install-kong-2-1") || !agentproto.ValidStepID(first) {
		t.Fatalf("kong-2's install step id %q", first)
	}
	_, second := resumeSucceeds(t, c, spec)
	if !slices.Contains(second, "kong-2 attach "+first) {
		t.Errorf("resume did not re-attach to %s: %q", first, second)
	}
	for _, h := range spec.Nodes {
		if n := countCalls(c.Calls(), func(s string) bool { return s == h+" install 3.4.2" }); n != 1 {
			t.Errorf("%s installed Y %d times over the run and its resume, want 1", h, n)
		}
		if c.nodes[h].version != "3.4.2" {
			t.Errorf("%s on %s", h, c.nodes[h].version)
		}
	}
}

// An install that failed on the node is tried again under a new id: the
// record of the failed one must not answer for it.
func TestFailedInstallRetriesUnderNewStepID(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	spec.OnFailure = "pause"
	c.fail = func(call string) error {
		if call == "kong-2 install 3.4.2" {
			return errors.New("host kong-2: agent package.install: dpkg -i exited 1")
		}
		return nil
	}
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Paused {
		t.Fatalf("outcome %s", r.Outcome)
	}
	c.fail = nil
	resumeSucceeds(t, c, spec)
	ids := c.installStepIDs("kong-2")
	if len(ids) != 2 || !strings.HasSuffix(ids[0], "-install-kong-2-1") || !strings.HasSuffix(ids[1], "-install-kong-2-2") {
		t.Fatalf("kong-2's install step ids %q, want attempts 1 then 2", ids)
	}
}

// The resume repairs a package operation left half-done on every node
// before anything else reaches the nodes, and says so: a finding and a
// journal record.
func TestResumeRepairsPackagesFirst(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	r := killedDuringInstall(t, c, spec, "kong-2")
	c.halfDone["kong-3"] = "The following packages have been unpacked but not yet configured.\n kong"
	r2, second := resumeSucceeds(t, c, spec)
	for _, h := range spec.Nodes {
		i := slices.Index(second, h+" repair")
		if i < 0 {
			t.Fatalf("%s not checked: %q", h, second)
		}
		for _, s := range second[:i] {
			if strings.HasPrefix(s, h+" ") && s != h+" connect" && s != h+" facts" {
				t.Errorf("%s: %q ran before the repair", h, s)
			}
		}
	}
	var f *Finding
	for i := range r2.Findings {
		if r2.Findings[i].Code == "package-repaired" {
			f = &r2.Findings[i]
		}
	}
	if f == nil || f.Host != "kong-3" || !strings.Contains(f.Message, "dpkg --configure -a") || !strings.Contains(f.Message, "unpacked but not yet configured") {
		t.Fatalf("repair finding %+v in %+v", f, r2.Findings)
	}
	st := journal.Fold(mustRead(t, r.Journal))
	if !st.Done("repair-packages/kong-3") || st.Status("repair-packages/kong-1") != "" {
		t.Errorf("journal: repair kong-3 %q, kong-1 %q", st.Status("repair-packages/kong-3"), st.Status("repair-packages/kong-1"))
	}
}

// A repair that fails stops the resume before anything else changes,
// naming the host; the lock stays with the run.
func TestResumeStopsWhenRepairFails(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	killedDuringInstall(t, c, spec, "kong-2")
	c.fail = func(call string) error {
		if call == "kong-3 repair" {
			return errors.New("host kong-3: agent package.repair: dpkg --configure -a exited 1: post-installation script returned error exit status 1")
		}
		return nil
	}
	before := len(c.Calls())
	r, err := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed || !strings.Contains(r.Error, "repair an interrupted package operation on kong-3") || !strings.Contains(r.Error, "post-installation script") {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	for _, s := range c.Calls()[before:] {
		if strings.Contains(s, " install ") || strings.Contains(s, "migrations") || strings.HasSuffix(s, " start") || strings.Contains(s, " attach ") {
			t.Errorf("%q ran after the failed repair", s)
		}
	}
	if c.lock == nil || !strings.Contains(r.Next, "--resume") {
		t.Errorf("lock %v, next %q", c.lock, r.Next)
	}
}

// `kongctl rollback` repairs first too, then reinstalls X.
func TestRollbackRepairsPackagesFirst(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	killedDuringInstall(t, c, spec, "kong-2")
	c.halfDone["kong-2"] = "kong half-configured"
	before := len(c.Calls())
	r, err := rollbackRun(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("rollback: %s %s", r.Outcome, r.Error)
	}
	second := c.Calls()[before:]
	rep, inst := slices.Index(second, "kong-2 repair"), slices.Index(second, "kong-2 install 2.8.4")
	if rep < 0 || inst < 0 || rep > inst {
		t.Fatalf("repair at %d, reinstall of X at %d: %q", rep, inst, second)
	}
	if !slices.ContainsFunc(c.installIDs, func(s string) bool {
		return strings.HasPrefix(s, "kong-2 ") && strings.Contains(s, "-install-x-kong-2-1")
	}) {
		t.Errorf("X's reinstall not detached under its own id: %q", c.installIDs)
	}
}

// installStepIDs are the step ids host's installs were asked under.
func (c *fakeCluster) installStepIDs(host string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, s := range c.installIDs {
		if id, ok := strings.CutPrefix(s, host+" "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Host names become valid step ids of bounded length.
func TestStepIDHost(t *testing.T) {
	run := "20260301T100000Z-abcdef"
	for _, h := range []string{"kong-1", "kong_1.example.com", "a:b/c d", strings.Repeat("very-long-host-name", 5)} {
		id := run + "-install-x-" + stepIDHost(h) + "-99"
		if !agentproto.ValidStepID(id) {
			t.Errorf("host %q: step id %q invalid", h, id)
		}
	}
	if stepIDHost(strings.Repeat("a", 30)) == stepIDHost(strings.Repeat("a", 31)) {
		t.Error("long names that differ share an id part")
	}
}

// An install whose runner died on the node (a reboot mid-install) is
// repaired and installed again once, under the next id, in the same run.
func TestLostInstallIsRepairedAndRetried(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	lost := 0
	c.fail = func(call string) error {
		if call == "kong-2 install 3.4.2" && lost == 0 {
			lost++
			return fmt.Errorf("host kong-2: package.install step x is lost (its runner died mid-install): %w", fleet.ErrStepLost)
		}
		return nil
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	ids := c.installStepIDs("kong-2")
	if len(ids) != 2 || !strings.HasSuffix(ids[0], "-1") || !strings.HasSuffix(ids[1], "-2") {
		t.Fatalf("kong-2's install step ids %q, want attempts 1 then 2", ids)
	}
	calls := c.Calls()
	first := slices.Index(calls, "kong-2 install 3.4.2")
	rep := slices.Index(calls, "kong-2 repair")
	if rep < first || countCalls(calls[rep:], func(s string) bool { return s == "kong-2 install 3.4.2" }) != 1 {
		t.Errorf("want kong-2: lost install, repair, install: %q", calls)
	}
	if !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Code == "install-lost" && f.Host == "kong-2" }) {
		t.Errorf("no install-lost finding: %+v", r.Findings)
	}
}
