package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentDependencies keeps the agent small: the standard library,
// agentproto, kongver and pgx (with what pgx itself needs) only.
func TestAgentDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/kongctl/kongctl/cmd/kongctl-agent").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{
		"github.com/kongctl/kongctl/cmd/kongctl-agent",
		"github.com/kongctl/kongctl/agent",
		"github.com/kongctl/kongctl/kongver",           // Kong versions, standard library only
		"github.com/kongctl/kongctl/internal/filehash", // file SHA-256, standard library only
		"github.com/jackc/pgx/v5", "github.com/jackc/pgpassfile", "github.com/jackc/pgservicefile",
		"golang.org/x/text/",
	}
	var n int
	for _, pkg := range strings.Fields(string(out)) {
		n++
		ok := false
		for _, a := range allowed {
			if pkg == a || strings.HasPrefix(pkg, strings.TrimSuffix(a, "/")+"/") || strings.HasPrefix(pkg, a) && strings.HasSuffix(a, "/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("kongctl-agent depends on %s", pkg)
		}
	}
	if n < 3 {
		t.Fatalf("go list found only %d non-standard packages: %q", n, out)
	}
}
