package runner

import (
	"fmt"
	"slices"
	"strings"
)

// A dual-cluster's Y starts on a copy of X's database: the fields X
// encrypted with its cluster keyring (Enterprise, keyring_strategy =
// cluster, the keys only in X's nodes' memory) are readable on Y only
// once Y imported X's keyring. The run takes the export from a running
// X node before anything changes (keyring.go), as in place, and imports
// it on each spare after Y started there, before the gates; X keeps its
// keys while it runs, and gets them again from the export when a
// rollback starts it after a decommission. The spares get kong.conf
// from X's first node: their keyring_private_key is that node's, and
// the key file it names must be on the spares (kongctl copies kong.conf,
// never key files).

// dualClusterKeyring widens the keyring plan of X's cluster-keyring
// nodes (importers: those of them with keyring_private_key; exporters:
// the running ones with keyring_public_key) to Y's spares, or refuses,
// naming what cannot be copied to Y.
func (e *engine) dualClusterKeyring(nodes, importers, exporters []string) (allNodes, allImporters []string, refusal *Finding) {
	src := e.spec.Nodes[0]
	if !slices.Contains(importers, src) {
		return nil, nil, &Finding{Severity: SevError, Code: "keyring-import", Host: src,
			Message: fmt.Sprintf("X's cluster keyring (keyring_enabled = on, keyring_strategy = cluster on %s) cannot be copied to Y: the kong.conf the spares get from %s sets no keyring_private_key, so Y could not import the keyring export, and every field encrypted in X's database would be unreadable on Y", strings.Join(nodes, ", "), src),
			Fix:     fmt.Sprintf("set keyring_private_key and keyring_public_key on %s (an RSA pair, the private key file on the spares too) and restart X before the upgrade", src)}
	}
	// The export: as in place (importers are not X's concern here).
	if f := keyringRefusal(nodes, nodes, exporters, e.spec.KeyringExportFile != ""); f != nil {
		f.Message = "X's cluster keyring cannot be copied to Y: " + f.Message
		return nil, nil, f
	}
	return append(slices.Clone(nodes), e.spec.Spares...), append(slices.Clone(importers), e.spec.Spares...), nil
}
