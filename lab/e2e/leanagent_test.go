//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/controller/agentclient"
)

// requireAgentKinds checks that the upgrade delivered the lean node agent
// (no database operations) to every Kong node of hosts and the tools agent
// to the database tools host, by the hashes in the .sum files bin/kongctl
// embeds (issue 21).
func (e *env) requireAgentKinds(hosts []string) {
	e.t.Helper()
	short := func(kind agentclient.Kind) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "controller", "agentclient", "agents", agentclient.FileName(kind, "amd64")+".sum"))
		if err != nil || len(b) < 12 {
			e.t.Fatalf("the %s agent's .sum: %v", kind, err)
		}
		return string(b[:12])
	}
	node, tools := short(agentclient.KindNode), short(agentclient.KindTools)
	check := func(host, want, other string) {
		ctx, cancel := shortCtx()
		out, err := e.lab.SSH(ctx, host, "ls "+agentclient.DefaultAgentDir)
		cancel()
		if err != nil || !strings.Contains(out, "kongctl-agent-"+want) || strings.Contains(out, "kongctl-agent-"+other) {
			e.t.Errorf("%s: agents %q (%v); want kongctl-agent-%s only, not kongctl-agent-%s", host, out, err, want, other)
		}
	}
	for _, h := range hosts {
		check(h, node, tools)
	}
	check(e.lab.DBHost().Name, tools, node)
}
