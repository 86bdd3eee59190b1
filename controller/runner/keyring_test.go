package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The fake node's keyring: X's keys in memory while it runs, lost at a
// stop (Kong's cluster keyring), back by an import.

const fakeExport = `{"data":"ZmFrZSBleHBvcnQ="}`

func (n *fakeNode) Keyring(ctx context.Context) (fleet.KeyringState, error) {
	if err := n.op("keyring"); err != nil {
		return fleet.KeyringState{}, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return fleet.KeyringState{IDs: append([]string(nil), n.krIDs...), Active: "k1"}, nil
}

func (n *fakeNode) KeyringExport(ctx context.Context) ([]byte, error) {
	if err := n.op("keyring-export"); err != nil {
		return nil, err
	}
	return []byte(fakeExport), nil
}

func (n *fakeNode) KeyringImport(ctx context.Context, export []byte) (fleet.KeyringState, error) {
	if err := n.op("keyring-import " + string(export)); err != nil {
		return fleet.KeyringState{}, err
	}
	n.c.mu.Lock()
	n.krIDs = []string{"k1"}
	n.c.mu.Unlock()
	return fleet.KeyringState{IDs: []string{"k1"}, Active: "k1"}, nil
}

// keyringFleet is an Enterprise 3.4 → 3.10 fleet with a cluster keyring
// on every node (keyring set as given).
func keyringFleet(t *testing.T, kc fleet.KeyringConf) (*fakeCluster, *Spec) {
	c := newFakeCluster(t, "3.4.3.5", "kong-1", "kong-2")
	for _, n := range c.nodes {
		n.edition, n.keyring, n.krIDs = "enterprise", kc, []string{"k1"}
	}
	c.after = func(call string) {
		if h, ok := strings.CutSuffix(call, " stop"); ok {
			c.nodes[h].krIDs = nil // the keys lived in the stopped node's memory
		}
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.From, spec.To, spec.Edition = "3.4.3.5", "3.10.0.2", "enterprise"
	for _, v := range []string{"3.4.3.5", "3.10.0.2"} {
		os.WriteFile(filepath.Join(spec.Package.Dir, "kong-enterprise-edition_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644)
	}
	spec.Backup.LocalDir = filepath.Join(t.TempDir(), "backups")
	return c, spec
}

var fullKeyring = fleet.KeyringConf{Enabled: true, Strategy: "cluster", PublicKey: true, PrivateKey: true}

func TestKeyringExportedBeforeStopAndImportedAfterStart(t *testing.T) {
	c, spec := keyringFleet(t, fullKeyring)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s\ncalls: %q", r.Outcome, r.Error, c.Calls())
	}
	calls := c.Calls()
	export := indexOfCall(calls, "kong-1 keyring-export", 0)
	firstStop := indexOfCall(calls, "kong-1 stop", 0)
	if export < 0 || firstStop < 0 || export > firstStop {
		t.Fatalf("export at %d, first stop at %d: want the export before any stop\ncalls: %q", export, firstStop, calls)
	}
	requireKeyringOnY(t, c, calls, spec.Nodes)
	p := filepath.Join(spec.Backup.LocalDir, "kong-"+r.RunID+"-keyring.json")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export kept at %s: %v %v", p, st, err)
	}
	if b, _ := os.ReadFile(p); string(b) != fakeExport {
		t.Errorf("kept export %q", b)
	}
	said := false
	for _, f := range r.Findings {
		said = said || f.Code == "keyring" && f.Severity == SevInfo && strings.Contains(f.Message, "kong-1, kong-2 (keys k1)")
	}
	if !said {
		t.Errorf("the plan does not say what happens to the keyring: %+v", r.Findings)
	}
}

func TestKeyringImportedOnXAfterRollback(t *testing.T) {
	c, spec := keyringFleet(t, fullKeyring)
	c.fail = func(call string) error {
		if call == "kong-2 probe /lab" {
			return errors.New("injected smoke failure")
		}
		return nil
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s / %s", r.Outcome, r.Error, r.RollbackError)
	}
	calls := c.Calls()
	for _, h := range spec.Nodes {
		startX := indexOfCall(calls, h+" start 3.4.3.5", 0)
		if startX < 0 || indexOfCall(calls, h+" keyring-import "+fakeExport, startX) < 0 {
			t.Errorf("%s: X started at %d without a keyring import after it\ncalls: %q", h, startX, calls)
		}
		if len(c.nodes[h].krIDs) != 1 {
			t.Errorf("%s: keyring %v after the rollback", h, c.nodes[h].krIDs)
		}
	}
}

func TestKeyringRefusedBeforeAnyStop(t *testing.T) {
	tests := []struct {
		name      string
		kc        fleet.KeyringConf
		code      string
		property  string
		inventory bool
	}{
		{"no keyring_public_key: no export possible", fleet.KeyringConf{Enabled: true, Strategy: "cluster", PrivateKey: true}, "keyring-export", "keyring_public_key", false},
		{"no keyring_private_key: no import possible", fleet.KeyringConf{Enabled: true, Strategy: "cluster", PublicKey: true}, "keyring-import", "keyring_private_key", false},
		{"no import possible even with an inventory export", fleet.KeyringConf{Enabled: true}, "keyring-import", "keyring_private_key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, spec := keyringFleet(t, tt.kc)
			if tt.inventory {
				spec.KeyringExportFile = filepath.Join(t.TempDir(), "export.json")
				os.WriteFile(spec.KeyringExportFile, []byte(fakeExport), 0o600)
			}
			r, _ := upgrade(context.Background(), spec, testConfig(c))
			if r.Outcome != Failed || countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
				t.Fatalf("outcome %s, calls %q", r.Outcome, c.Calls())
			}
			found := false
			for _, f := range r.Findings {
				if f.Code == tt.code && f.Severity == SevError && f.Host == "kong-1" && strings.Contains(f.Message, tt.property) &&
					strings.Contains(f.Message, "kong-1, kong-2") && !strings.Contains(f.Message, "\n") {
					found = true
				}
			}
			if !found {
				t.Errorf("no one-line %s finding naming the nodes and %s: %+v", tt.code, tt.property, r.Findings)
			}
		})
	}
}

func TestKeyringInventoryExportIsUsed(t *testing.T) {
	c, spec := keyringFleet(t, fleet.KeyringConf{Enabled: true, Strategy: "cluster", PrivateKey: true})
	spec.KeyringExportFile = filepath.Join(t.TempDir(), "export.json")
	os.WriteFile(spec.KeyringExportFile, []byte(`{"data":"aW52ZW50b3J5"}`), 0o600)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s %v", r.Outcome, r.Error, err)
	}
	calls := c.Calls()
	if countCalls(calls, hasSuffix("keyring-export")) != 0 {
		t.Errorf("kongctl took an export although the inventory names one")
	}
	if indexOfCall(calls, `kong-2 keyring-import {"data":"aW52ZW50b3J5"}`, 0) < 0 {
		t.Errorf("the inventory's export was not imported: %q", calls)
	}
}

func TestKeyringVaultAndOSSNeedNothing(t *testing.T) {
	c, spec := keyringFleet(t, fleet.KeyringConf{Enabled: true, Strategy: "vault"})
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Succeeded || countCalls(c.Calls(), func(s string) bool { return strings.Contains(s, "keyring") }) != 0 {
		t.Fatalf("vault: outcome %s, calls %q", r.Outcome, c.Calls())
	}
}

// requireKeyringOnY fails t unless the export was imported on each of
// hosts after Y (3.10.0.2) started there and before the verify probed it,
// and the node's keyring holds X's key.
func requireKeyringOnY(t *testing.T, c *fakeCluster, calls, hosts []string) {
	t.Helper()
	for _, h := range hosts {
		start := indexOfCall(calls, h+" start 3.10.0.2", 0)
		imp := indexOfCall(calls, h+" keyring-import "+fakeExport, max(start, 0))
		if start < 0 || imp < 0 {
			t.Errorf("%s: no import after Y started (start %d)", h, start)
		}
		if probe := indexOfCall(calls, h+" probe /lab", 0); probe >= 0 && probe < imp {
			t.Errorf("%s: verify probed at %d before the keyring import at %d", h, probe, imp)
		}
		if len(c.nodes[h].krIDs) != 1 {
			t.Errorf("%s: keyring %v after the upgrade", h, c.nodes[h].krIDs)
		}
	}
}
