package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// dcKeyringCluster is the dual-cluster fake on Enterprise 3.4 → 3.10 with
// a cluster keyring (kc) on X; the spares get kc with kong.conf.
func dcKeyringCluster(t *testing.T, kc fleet.KeyringConf) (*fakeCluster, *fakeLB, *Spec) {
	c, lb, spec := dcClusterAt(t, "3.4.3.5")
	for name, n := range c.nodes {
		n.edition, n.keyring = "enterprise", kc
		if strings.HasPrefix(name, "kong-") {
			n.krIDs = []string{"k1"}
		}
	}
	c.after = func(call string) {
		if h, ok := strings.CutSuffix(call, " stop"); ok {
			c.nodes[h].krIDs = nil // the keys lived in the stopped node's memory
		}
	}
	spec.From, spec.To, spec.Edition = "3.4.3.5", "3.10.0.2", "enterprise"
	for _, v := range []string{"3.4.3.5", "3.10.0.2"} {
		os.WriteFile(filepath.Join(spec.Package.Dir, "kong-enterprise-edition_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644)
	}
	spec.Backup.LocalDir = filepath.Join(t.TempDir(), "backups")
	return c, lb, spec
}

// Y starts on a copy of X's database: X's keyring export is taken before
// anything changes and imported on each spare once Y started there,
// before the verify probes it; X keeps its keys.
func TestDualClusterKeyringImportedOnY(t *testing.T) {
	c, _, spec := dcKeyringCluster(t, fullKeyring)
	r := upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	export := indexOfCall(calls, "kong-1 keyring-export", 0)
	if export < 0 || export > indexOfCall(calls, "db restore-target kong_y", 0) {
		t.Fatalf("export at %d: want it before the target's restore\ncalls: %q", export, calls)
	}
	requireKeyringOnY(t, c, calls, spec.Spares)
	for _, h := range spec.Nodes {
		if indexOfCall(calls, h+" keyring-import", 0) >= 0 || len(c.nodes[h].krIDs) != 1 {
			t.Errorf("%s: X's keyring touched: %v", h, c.nodes[h].krIDs)
		}
	}
	said := false
	for _, f := range r.Findings {
		said = said || f.Code == "keyring" && strings.Contains(f.Message, "new-1, new-2, new-3")
	}
	if !said {
		t.Errorf("no keyring finding naming the spares: %+v", r.Findings)
	}
}

// What cannot be copied to Y is named in preflight, and nothing is
// installed: no keyring_private_key in the kong.conf the spares get, or
// no way to take an export.
func TestDualClusterKeyringRefused(t *testing.T) {
	for _, tc := range []struct {
		name, code, msg string
		kc              fleet.KeyringConf
	}{
		{"no private key", "keyring-import", "sets no keyring_private_key", fleet.KeyringConf{Enabled: true, Strategy: "cluster", PublicKey: true}},
		{"no public key", "keyring-export", "keyring_public_key is not set", fleet.KeyringConf{Enabled: true, Strategy: "cluster", PrivateKey: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, spec := dcKeyringCluster(t, tc.kc)
			r := upgradeExpect(t, c, spec, Failed)
			var named bool
			for _, f := range r.Findings {
				named = named || f.Code == tc.code && f.Severity == SevError && strings.Contains(f.Message, "cannot be copied to Y") && strings.Contains(f.Message, tc.msg)
			}
			if !named {
				t.Errorf("no %s refusal naming what cannot be copied: %+v", tc.code, r.Findings)
			}
			if n := countCalls(c.Calls(), hasSuffix(" install 3.10.0.2")); n != 0 {
				t.Errorf("%d installs after a refused preflight", n)
			}
		})
	}
}
