package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentDependencies keeps the agent small: the node agent (tag
// nodeagent, what every Kong node receives) has the standard library,
// agentproto, kongver and filehash only; the tools agent (the default
// build, for the database tools host) has pgx besides (with what pgx
// itself needs).
func TestAgentDependencies(t *testing.T) {
	node := []string{
		"github.com/kongctl/kongctl/cmd/kongctl-agent",
		"github.com/kongctl/kongctl/agent",
		"github.com/kongctl/kongctl/kongver",           // Kong versions, standard library only
		"github.com/kongctl/kongctl/internal/filehash", // file SHA-256, standard library only
	}
	tools := append(append([]string(nil), node...),
		"github.com/jackc/pgx/v5", "github.com/jackc/pgpassfile", "github.com/jackc/pgservicefile",
		"golang.org/x/text/",
	)
	for _, build := range []struct {
		tags    string
		allowed []string
		want    string // a package the build must have
	}{
		{"nodeagent", node, "github.com/kongctl/kongctl/agent/agentproto"},
		{"", tools, "github.com/jackc/pgx/v5"},
	} {
		out, err := exec.Command("go", "list", "-tags", build.tags, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
			"github.com/kongctl/kongctl/cmd/kongctl-agent").Output()
		if err != nil {
			t.Fatalf("go list -tags %q: %v", build.tags, err)
		}
		pkgs := strings.Fields(string(out))
		for _, pkg := range pkgs {
			ok := false
			for _, a := range build.allowed {
				if pkg == a || strings.HasPrefix(pkg, strings.TrimSuffix(a, "/")+"/") || strings.HasPrefix(pkg, a) && strings.HasSuffix(a, "/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("kongctl-agent (tags %q) depends on %s", build.tags, pkg)
			}
		}
		if !strings.Contains(" "+strings.Join(pkgs, " ")+" ", " "+build.want+" ") {
			t.Errorf("kongctl-agent (tags %q) does not depend on %s: %q", build.tags, build.want, out)
		}
	}
}
