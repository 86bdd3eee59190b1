// Package kongctl holds no code: this test keeps the arrows between the
// module's packages the way ARCHITECTURE.md draws them.
package kongctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kongctl/kongctl"

// productPatterns are the product's packages: what ships in bin/kongctl
// and the agent. lab/ is the rehearsal lab, used only by tests.
var productPatterns = []string{"./agent/...", "./cmd/...", "./controller/...", "./hcl/...", "./inventory/...", "./internal/...", "./kongver/...", "./sshremote/..."}

// rule is one arrow that must never exist: no package under from (its test
// files included) may reach a package matched by to, directly or through
// other packages, except over the edges listed in except. Packages under
// from that are also under exempt are not starting points.
type rule struct {
	name   string
	from   []string                 // import path prefixes, relative to the module
	exempt []string                 // prefixes under from that the rule does not start from
	to     func(pkg) bool           // the forbidden destination
	except map[[2]string]string     // direct edges {importer, imported} allowed, with why
	want   func(reached []pkg) bool // a sanity check on what from reaches, so an empty graph fails
}

// rules are the forbidden arrows of ARCHITECTURE.md, the controller's own
// layers included: one table, one walk.
var rules = []rule{
	{
		name: "the agent uses only the standard library, its own packages, the shared standard-library-only ones and pgx",
		from: []string{"agent", "cmd/kongctl-agent"},
		to: func(p pkg) bool {
			return !p.Standard && !under(p.Path, module+"/agent", module+"/cmd/kongctl-agent", module+"/kongver", module+"/internal") &&
				!under(p.Path, "github.com/jackc/pgx/v5", "github.com/jackc/pgpassfile", "github.com/jackc/pgservicefile", "golang.org/x/text")
		},
		want: func(r []pkg) bool { return has(r, module+"/agent/agentproto") && has(r, "github.com/jackc/pgx/v5") },
	},
	{
		name: "kongver and internal/ use only the standard library (the agent imports them)",
		from: []string{"kongver", "internal"},
		to:   func(p pkg) bool { return !p.Standard && !under(p.Path, module+"/kongver", module+"/internal") },
		want: func(r []pkg) bool { return has(r, module+"/kongver") && has(r, module+"/internal/filehash") },
	},
	{
		name: "the agent protocol uses only the standard library",
		from: []string{"agent/agentproto"},
		to:   func(p pkg) bool { return !p.Standard && !under(p.Path, module+"/agent/agentproto") },
		want: func(r []pkg) bool { return has(r, "encoding/json") },
	},
	{
		name: "product code never imports lab/",
		from: []string{"agent", "cmd", "controller", "hcl", "internal", "inventory", "kongver", "sshremote"},
		to:   func(p pkg) bool { return under(p.Path, module+"/lab") },
		want: func(r []pkg) bool { return has(r, module+"/sshremote/sshtest") },
	},
	{
		name: "the inventory language (inventory/, hcl/) and the SSH transport (sshremote/) never import controller/",
		from: []string{"inventory", "hcl", "sshremote"},
		to:   func(p pkg) bool { return under(p.Path, module+"/controller") },
		want: func(r []pkg) bool {
			return has(r, "github.com/hashicorp/hcl/v2") && has(r, module+"/sshremote") // vagrantinv's probes
		},
	},
	{
		name: "the runner reaches nodes only through controller/fleet: never the transport, the agent client, the production adapter or the CLI",
		from: []string{"controller/runner"},
		to: func(p pkg) bool {
			return under(p.Path, module+"/sshremote", module+"/controller/agentclient", module+"/controller/sshfleet", module+"/controller/cli")
		},
		want: func(r []pkg) bool { return has(r, module+"/controller/fleet") },
	},
	{
		name: "controller/fleet (the interfaces) knows no adapter and nothing above it",
		from: []string{"controller/fleet"},
		to: func(p pkg) bool {
			return under(p.Path, module+"/sshremote", module+"/controller/agentclient", module+"/controller/sshfleet", module+"/controller/runner")
		},
		want: func(r []pkg) bool { return has(r, module+"/controller/fleet") },
	},
	{
		name: "controller/promtext (a pure parser, fuzzed) uses only the standard library",
		from: []string{"controller/promtext"},
		to:   func(p pkg) bool { return !p.Standard && !under(p.Path, module+"/controller/promtext") },
		want: func(r []pkg) bool { return has(r, module+"/controller/promtext") },
	},
	{
		name:   "only the command line (controller/cli, cmd/) and the run report's views reach the views (controller/cli/view)",
		from:   []string{"agent", "controller", "hcl", "internal", "inventory", "kongver", "sshremote"},
		exempt: []string{"controller/cli", "controller/reportview"},
		to:     func(p pkg) bool { return under(p.Path, module+"/controller/cli/view") },
		want:   func(r []pkg) bool { return has(r, module+"/controller/runner") },
	},
}

func TestImportGraph(t *testing.T) {
	g, err := loadGraph(productPatterns...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			reached, bad := r.check(g)
			for _, b := range bad {
				t.Error(b)
			}
			if !r.want(reached) {
				t.Errorf("the graph from %v looks incomplete (%d packages): is go list's output read right?", r.from, len(reached))
			}
		})
	}
}

// TestRuleFindsForbiddenArrow: a rule names the whole path of an arrow it
// forbids, reached through another package or only from a test file, lets
// an excepted edge pass, and does not start from an exempt package.
func TestRuleFindsForbiddenArrow(t *testing.T) {
	g := graph{
		module + "/inventory":             {Path: module + "/inventory", Imports: []string{"fmt", "example.com/helper"}},
		"example.com/helper":              {Path: "example.com/helper", Imports: []string{module + "/controller/journal"}},
		module + "/inventory/probe":       {Path: module + "/inventory/probe", Imports: []string{module + "/controller/testserver"}},
		module + "/controller/journal":    {Path: module + "/controller/journal"},
		module + "/controller/testserver": {Path: module + "/controller/testserver"},
		"fmt":                             {Path: "fmt", Standard: true},
	}
	r := ruleNamed(t, "the inventory language")
	r.except = map[[2]string]string{{module + "/inventory/probe", module + "/controller/testserver"}: "a test's exception"}
	_, bad := r.check(g)
	want := "inventory -> example.com/helper -> controller/journal"
	if len(bad) != 1 || !strings.Contains(bad[0], want) {
		t.Errorf("violations %q, want one naming %q", bad, want)
	}
	r.except = nil
	if _, bad := r.check(g); len(bad) != 2 {
		t.Errorf("without the exception: violations %q, want 2", bad)
	}

	views := graph{
		module + "/controller/cli":      {Path: module + "/controller/cli", Imports: []string{module + "/controller/cli/view"}},
		module + "/controller/runner":   {Path: module + "/controller/runner", Imports: []string{module + "/controller/cli/view"}},
		module + "/controller/cli/view": {Path: module + "/controller/cli/view"},
	}
	_, bad = ruleNamed(t, "only the command line").check(views)
	if want := "controller/runner -> controller/cli/view"; len(bad) != 1 || !strings.Contains(bad[0], want) {
		t.Errorf("views: violations %q, want one naming %q", bad, want)
	}
}

// ruleNamed is the rule whose name starts with prefix.
func ruleNamed(t *testing.T, prefix string) rule {
	t.Helper()
	for _, r := range rules {
		if strings.HasPrefix(r.name, prefix) {
			return r
		}
	}
	t.Fatalf("no rule named %q...", prefix)
	return rule{}
}

// pkg is one package of go list's output; a package's test files are
// folded into it (Imports holds what its tests import too).
type pkg struct {
	Path     string `json:"ImportPath"`
	Standard bool
	Imports  []string
}

type graph map[string]pkg

// loadGraph lists patterns and everything they import, test files
// included (go list -deps -test).
func loadGraph(patterns ...string) (graph, error) {
	args := append([]string{"list", "-deps", "-test", "-json=ImportPath,Standard,Imports"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, errors.New("go list: " + string(ee.Stderr))
		}
		return nil, err
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		path := base(p.Path)
		if strings.HasSuffix(path, ".test") { // the generated test main
			continue
		}
		q := g[path]
		q.Path, q.Standard = path, p.Standard
		for _, imp := range p.Imports {
			if imp = base(imp); imp != path && !slices.Contains(q.Imports, imp) {
				q.Imports = append(q.Imports, imp)
			}
		}
		g[path] = q
	}
	return g, nil
}

// base is a package's own import path: "p [p.test]" (p compiled with its
// tests) and "p_test" (its external tests) are p.
func base(path string) string {
	path, _, _ = strings.Cut(path, " ")
	return strings.TrimSuffix(path, "_test")
}

// check walks the graph from r.from and returns what it reached and one
// message per forbidden package reached, with the path that reaches it.
func (r rule) check(g graph) (reached []pkg, bad []string) {
	via := map[string]string{} // package -> the package that first imported it
	var queue []string
	for path := range g {
		for _, f := range r.from {
			if under(path, module+"/"+f) && !slices.ContainsFunc(r.exempt, func(x string) bool { return under(path, module+"/"+x) }) {
				via[path] = ""
				queue = append(queue, path)
			}
		}
	}
	slices.Sort(queue)
	for len(queue) > 0 {
		p := g[queue[0]]
		queue = queue[1:]
		reached = append(reached, p)
		if r.to(p) {
			bad = append(bad, "forbidden: "+chain(via, p.Path))
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := via[imp]; seen {
				continue
			}
			if _, ok := r.except[[2]string{p.Path, imp}]; ok {
				continue
			}
			if _, ok := g[imp]; !ok {
				continue
			}
			via[imp] = p.Path
			queue = append(queue, imp)
		}
	}
	return reached, bad
}

// chain renders how path was reached: "a -> b -> c", module prefix off.
func chain(via map[string]string, path string) string {
	var hops []string
	for p := path; p != ""; p = via[p] {
		hops = append(hops, strings.TrimPrefix(p, module+"/"))
	}
	slices.Reverse(hops)
	return strings.Join(hops, " -> ")
}

// under reports whether path is one of prefixes or inside one of them.
func under(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func has(pkgs []pkg, path string) bool {
	return slices.ContainsFunc(pkgs, func(p pkg) bool { return p.Path == path })
}
