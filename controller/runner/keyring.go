package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The Enterprise keyring (kong-reference 9.8). With keyring_enabled = on
// and keyring_strategy = cluster, the keys that encrypt fields at rest live
// only in the running nodes' memory: an in-place upgrade stops every node,
// and Y would start with no keys, every encrypted field unreadable. So
// preflight requires an export before any stop (kongctl takes it with
// POST /keyring/export, or the inventory names one), and the run imports
// it (POST /keyring/import) on every node once Y serves there, before the
// verify gates, and again on X after a rollback starts it; GET /keyring
// must then show X's key ids. keyring_strategy = vault keeps the keys in
// Vault: nothing to carry over.

// The keyring's steps: the export imported on a node Y serves on, and
// (rollback) on a node X serves on again.
const (
	keyringSteps  hostSteps = "keyring-import/"
	keyringXSteps hostSteps = "rollback/keyring-import/"
)

// keyringPlan is the run's keyring export and where it goes.
type keyringPlan struct {
	// Path is the export on the bastion (mode 0600); Source says where it
	// came from ("POST /keyring/export on H" or "inventory").
	Path   string `json:"path"`
	Source string `json:"source"`
	// IDs and Active are X's keyring (GET /keyring) at preflight.
	IDs    []string `json:"ids,omitempty"`
	Active string   `json:"active,omitempty"`
	// Nodes run a cluster keyring; Importers of them have
	// keyring_private_key (the others get the keys from those through
	// Kong's cluster events).
	Nodes     []string `json:"nodes"`
	Importers []string `json:"importers"`
}

// checkKeyring finds the nodes with a cluster keyring and refuses the
// upgrade when their keyring could not be carried over. It reads X's key
// ids from a running node.
func (e *engine) checkKeyring(ctx context.Context, pf *preflightData) {
	if e.spec.NewHosts && !e.spec.DualCluster {
		// X keeps running through a new-hosts upgrade (its keys with it),
		// and Y runs on the same database with the keys in it.
		return
	}
	var nodes, importers, exporters, running []string
	for _, h := range e.spec.Nodes {
		f, ok := pf.Facts[h]
		if !ok || f.Edition != "enterprise" || !f.Keyring.Enabled {
			continue
		}
		if !f.Keyring.Cluster() {
			e.note("%s: keyring_strategy = %s keeps the keyring outside the nodes; no export needed", h, f.Keyring.Strategy)
			continue
		}
		nodes = append(nodes, h)
		if f.Keyring.PrivateKey {
			importers = append(importers, h)
		}
		if f.Running {
			running = append(running, h)
			if f.Keyring.PublicKey {
				exporters = append(exporters, h)
			}
		}
	}
	if len(nodes) == 0 {
		return
	}
	refusal := keyringRefusal(nodes, importers, exporters, e.spec.KeyringExportFile != "")
	if e.spec.DualCluster {
		// Y starts on a copy of X's database: the keys go to the spares.
		nodes, importers, refusal = e.dualClusterKeyring(nodes, importers, exporters) // dualcluster_keyring.go
	}
	if refusal != nil {
		e.find(*refusal)
		return
	}
	kp := &keyringPlan{Nodes: nodes, Importers: importers, Source: "inventory", Path: e.spec.KeyringExportFile}
	if len(running) > 0 {
		st, err := e.readKeyring(ctx, running[0])
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "keyring", Host: running[0], Message: e.red.err(err),
				Fix: "make the Admin API's GET /keyring answer with the inventory's admin token"})
			return
		}
		if len(st.IDs) == 0 {
			e.find(Finding{Severity: SevError, Code: "keyring-empty", Host: running[0],
				Message: "the node's keyring is empty (GET /keyring): its encrypted fields are unreadable already, and no export can restore them",
				Fix:     "import or recover the keyring on the node (POST /keyring/import or /keyring/recover) before the upgrade"})
			return
		}
		kp.IDs, kp.Active = st.IDs, st.Active
		if kp.Path == "" {
			kp.Source = "POST /keyring/export on " + exporters[0]
		}
	}
	pf.Keyring = kp
	e.find(Finding{Severity: SevInfo, Code: "keyring", Host: nodes[0],
		Message: fmt.Sprintf("cluster keyring on %s (keys %s): the export (%s) is kept with the backup before the stop and imported on %s after each start",
			strings.Join(nodes, ", "), dash(strings.Join(kp.IDs, ", ")), kp.Source, strings.Join(importers, ", "))})
}

// keyringRefusal is the one-line refusal when a cluster keyring could not
// be carried over: no node that could import an export
// (keyring_private_key), or no export (the inventory names none and no
// running node has keyring_public_key to take one).
func keyringRefusal(nodes, importers, exporters []string, inventoryExport bool) *Finding {
	missing := func(have []string) string {
		out := minus(nodes, have)
		if len(out) == 1 {
			return out[0]
		}
		return strings.Join(out, ", ")
	}
	switch {
	case len(importers) == 0:
		return &Finding{Severity: SevError, Code: "keyring-import", Host: nodes[0],
			Message: fmt.Sprintf("keyring_enabled = on (keyring_strategy = cluster) and keyring_private_key is not set on %s: Y could not import the keyring, and every encrypted field would be unreadable once all nodes restarted", missing(importers)),
			Fix:     "set keyring_private_key and keyring_public_key (an RSA pair, kept safe) on the nodes and restart them before the upgrade"}
	case !inventoryExport && len(exporters) == 0:
		return &Finding{Severity: SevError, Code: "keyring-export", Host: nodes[0],
			Message: fmt.Sprintf("keyring_enabled = on (keyring_strategy = cluster) and keyring_public_key is not set on %s: kongctl cannot take a keyring export (POST /keyring/export) before the stop, and the inventory names none", missing(exporters)),
			Fix:     "set keyring_public_key on a running node, or save an export and name it: kong { keyring_export_file = \"...\" }"}
	}
	return nil
}

// takeKeyringExport keeps the keyring export with the run's backup on the
// bastion (mode 0600), before any stop. An export the inventory names is
// used as it is.
func (e *engine) takeKeyringExport(ctx context.Context, pf *preflightData) {
	kp := pf.Keyring
	if kp == nil || kp.Path != "" {
		return
	}
	h := strings.TrimPrefix(kp.Source, "POST /keyring/export on ")
	if err := e.exportKeyring(ctx, h, kp); err != nil {
		e.find(Finding{Severity: SevError, Code: "keyring-export", Host: h, Message: e.red.err(err),
			Fix: "check keyring_public_key on the node and that the admin token may POST /keyring/export"})
	}
}

func (e *engine) exportKeyring(ctx context.Context, h string, kp *keyringPlan) error {
	kn, err := e.keyringNode(ctx, h)
	if err != nil {
		return err
	}
	dir := e.spec.Backup.LocalDir
	if dir == "" && e.j != nil {
		dir = e.j.Dir()
	}
	if dir == "" {
		return fmt.Errorf("keep the keyring export of %s: no backup local_dir", h)
	}
	body, err := kn.KeyringExport(ctx)
	if err != nil {
		return fmt.Errorf("export the keyring on %s: %w", h, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keep the keyring export of %s: %w", h, err)
	}
	p := filepath.Join(dir, fmt.Sprintf("kong-%s-keyring.json", e.runID))
	if err := os.WriteFile(p, body, 0o600); err != nil {
		return fmt.Errorf("keep the keyring export of %s: %w", h, err)
	}
	kp.Path = p
	e.note("keyring export of %s (keys %s) kept at %s", h, strings.Join(kp.IDs, ", "), p)
	return nil
}
