package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// pluginCluster is rehearsalCluster with the custom plugin package
// kong-plugin-foo 1.0.0 on both nodes (not on the rehearsal host), named
// in the spec, its file in the package directory.
func pluginCluster(t *testing.T) (*fakeCluster, *Spec) {
	t.Helper()
	c, spec := rehearsalCluster(t)
	for _, n := range []string{"kong-1", "kong-2"} {
		c.nodes[n].pluginPkgs = map[string]string{"kong-plugin-foo": "1.0.0"}
	}
	spec.Package.Plugins = []string{"kong-plugin-foo"}
	if err := os.WriteFile(filepath.Join(spec.Package.Dir, "kong-plugin-foo_1.0.0_all.deb"), []byte("plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, spec
}

// TestRehearsalInstallsPluginPackages: the rehearsal host gets the
// migration node's custom plugin packages after Y and before Y's
// migrations; the fleet's nodes are only asked whether they have them.
func TestRehearsalInstallsPluginPackages(t *testing.T) {
	c, spec := pluginCluster(t)
	_, calls := upgradeInOrder(t, c, spec, "kong-1 query-plugins kong-plugin-foo", "rh-1 install 3.4.2", "rh-1 install-plugin kong-plugin-foo 1.0.0", "rh-1 migrations up", "kong-1 stop")
	for _, call := range calls {
		if strings.HasPrefix(call, "kong-") && strings.Contains(call, "install-plugin") {
			t.Errorf("a node's plugin package was reinstalled: %q", call)
		}
	}
}

// TestPluginPackageMissingOnANode: a node without a named plugin package
// is refused in preflight, naming the host and the package, before any
// stop.
func TestPluginPackageMissingOnANode(t *testing.T) {
	c, spec := pluginCluster(t)
	c.nodes["kong-2"].pluginPkgs = nil
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome == Succeeded {
		t.Fatal("upgrade succeeded with a plugin package missing on kong-2")
	}
	f := findingOf(r, "plugin-package")
	if f == nil || f.Host != "kong-2" || f.Severity != SevError || !strings.Contains(f.Message, "kong-plugin-foo") || !strings.Contains(f.Message, "not installed on kong-2") {
		t.Fatalf("finding %+v; findings %+v", f, r.Findings)
	}
	if i := firstStop(c.Calls()); i >= 0 {
		t.Errorf("a node stopped: %q", c.Calls()[i])
	}
}

// TestPluginPackageFileMissingForTheRehearsal: with package source
// "file", the plugin's package file missing from the directory refuses
// the rehearsal in preflight, naming the version and the files looked for.
func TestPluginPackageFileMissingForTheRehearsal(t *testing.T) {
	c, spec := pluginCluster(t)
	os.Remove(filepath.Join(spec.Package.Dir, "kong-plugin-foo_1.0.0_all.deb"))
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	f := findingOf(r, "plugin-package")
	if r.Outcome == Succeeded || f == nil || f.Host != "rh-1" || !strings.Contains(f.Message, "kong-plugin-foo 1.0.0 (the version on kong-1)") || !strings.Contains(f.Message, "kong-plugin-foo_1.0.0_all.deb") {
		t.Fatalf("outcome %s, finding %+v", r.Outcome, f)
	}
}

func TestFindPluginPackage(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"kong-plugin-foo-1.2.0-1.noarch.rpm", "kong-plugin-bar_2.0.0_amd64.deb"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	for _, tc := range []struct {
		ref  fleet.PackageRef
		want string
	}{
		{fleet.PackageRef{Name: "kong-plugin-foo", Version: "1.2.0-1", Format: "rpm", Arch: "amd64"}, "kong-plugin-foo-1.2.0-1.noarch.rpm"},
		{fleet.PackageRef{Name: "kong-plugin-bar", Version: "1:2.0.0", Format: "deb", Arch: "amd64"}, "kong-plugin-bar_2.0.0_amd64.deb"},
		{fleet.PackageRef{Name: "kong-plugin-bar", Version: "2.0.1", Format: "deb", Arch: "amd64"}, ""},
	} {
		got, err := findPluginPackage(dir, tc.ref)
		if filepath.Base(got) != tc.want && !(tc.want == "" && err != nil) {
			t.Errorf("%+v: got %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

// upgradeInOrder runs a successful upgrade on c and fails unless its calls
// hold seq in that order; it returns the report and the calls.
func upgradeInOrder(t *testing.T, c *fakeCluster, spec *Spec, seq ...string) (*Report, []string) {
	t.Helper()
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("upgrade: %v %s %s\ncalls: %q", err, r.Outcome, r.Error, c.Calls())
	}
	calls := c.Calls()
	pos := 0
	for _, want := range seq {
		i := indexOfCall(calls, want, pos)
		if i < 0 {
			t.Fatalf("call %q missing or out of order after %d\ncalls: %q", want, pos, calls)
		}
		pos = i + 1
	}
	return r, calls
}
