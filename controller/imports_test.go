package controller

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/kongctl/kongctl/"

// pkgInfo is one package of the module as `go list -test` sees it: test
// variants ("p [p.test]", "p_test [p.test]") included.
type pkgInfo struct {
	path    string   // import path without the test variant suffix
	imports []string // direct
	deps    []string // transitive
}

func listModule(t *testing.T) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-test", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		path, _, _ := strings.Cut(f[0], " ")
		path = strings.TrimSuffix(strings.TrimSuffix(path, ".test"), "_test")
		strip := func(s string) []string {
			var out []string
			for _, p := range strings.Fields(s) {
				p, _, _ = strings.Cut(p, " ")
				out = append(out, p)
			}
			return out
		}
		ps = append(ps, pkgInfo{path: path, imports: strip(f[1]), deps: strip(f[2])})
	}
	if len(ps) < 20 {
		t.Fatalf("go list found only %d packages", len(ps))
	}
	return ps
}

func under(p, dir string) bool { return p == mod+dir || strings.HasPrefix(p, mod+dir+"/") }

// TestImportGraph holds the controller's layers apart, test files
// included: the runner reaches the fleet only through fleet's interfaces
// (never the SSH transport, the agent client or the production
// connector), the fleet's domain and the metrics parser stay pure, and
// only the command line renders results.
func TestImportGraph(t *testing.T) {
	never := []struct {
		from, to, why string
	}{
		{"controller/runner", "controller/sshremote", "the runner speaks to the fleet through controller/fleet"},
		{"controller/runner", "controller/agentclient", "the runner speaks to the fleet through controller/fleet"},
		{"controller/runner", "controller/sshfleet", "the production connector is wired by the controller package"},
		{"controller/runner", "controller/cli", "the runner returns values; the CLI renders them"},
		{"controller/fleet", "controller/sshremote", "fleet is the pure domain"},
		{"controller/fleet", "controller/agentclient", "fleet is the pure domain"},
		{"controller/fleet", "controller/sshfleet", "fleet is the pure domain"},
		{"controller/fleet", "controller/runner", "fleet is below the runner"},
		{"controller/promtext", mod[:len(mod)-1], "promtext is a pure parser (standard library only)"},
	}
	for _, p := range listModule(t) {
		for _, n := range never {
			if !under(p.path, n.from) {
				continue
			}
			for _, d := range p.deps {
				if strings.HasPrefix(d+"/", mod+n.to+"/") || (strings.HasSuffix(n.to, "kongctl") && strings.HasPrefix(d, mod) && !under(d, n.from)) {
					t.Errorf("%s depends on %s: %s", p.path, d, n.why)
				}
			}
		}
		// The views are the command line's: only cli and cmd/ import them.
		for _, d := range p.imports {
			if under(d, "controller/cli/view") && !under(p.path, "controller/cli") && !under(p.path, "cmd") && !under(p.path, "controller/reportview") {
				t.Errorf("%s imports %s: only controller/cli, cmd/ and the run report's views render results", p.path, d)
			}
		}
	}
}
