package runner

import (
	"errors"
	"strings"
	"testing"
)

// Issue 17, bad input: a backend that does not exist, and a dual-cluster
// spare without its server in the backend, are refused in preflight with
// the name; nothing is stopped, nothing restored.
func TestLBPreflightNames(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	newFakeLB(c, "k1", "k2", "k3")
	c.fail = func(call string) error {
		if call == "lb servers" {
			return errors.New(`host lb: haproxy socket /run/haproxy/admin.sock: no backend "kong"`)
		}
		return nil
	}
	r := upgradeExpect(t, c, lbTestSpec(t), Failed)
	if f := findingOf(r, "lb-backend"); f == nil || f.Host != "lb" || !strings.Contains(f.Message, `no backend "kong"`) || !strings.Contains(f.Fix, `now "kong"`) {
		t.Errorf("findings %+v: want lb-backend naming the backend", r.Findings)
	}
	if n := countCalls(c.Calls(), hasSuffix(" stop")); n != 0 {
		t.Errorf("%d stops after a refused preflight", n)
	}

	c, lb, spec := dcCluster(t)
	delete(lb.servers, "n2")
	r = upgradeExpect(t, c, spec, Failed)
	if f := findingOf(r, "lb-server"); f == nil || f.Host != "new-2" || !strings.Contains(f.Message, "no server n2 for node new-2") {
		t.Errorf("findings %+v: want lb-server naming new-2's server n2", r.Findings)
	}
	for _, call := range c.Calls() {
		if strings.HasPrefix(call, "db restore-target") || strings.HasSuffix(call, " stop") {
			t.Errorf("%q after a refused preflight", call)
		}
	}
}
