package fleet

import "context"

// KeyringConf is a node's keyring settings: whether each key setting is
// set, never its value.
type KeyringConf struct {
	Enabled     bool   `json:"enabled,omitempty"`
	Strategy    string `json:"strategy,omitempty"`
	PublicKey   bool   `json:"public_key,omitempty"`
	PrivateKey  bool   `json:"private_key,omitempty"`
	RecoveryKey bool   `json:"recovery_public_key,omitempty"`
}

// Cluster reports a keyring whose keys live in the nodes' memory.
func (k KeyringConf) Cluster() bool {
	return k.Enabled && (k.Strategy == "" || k.Strategy == "cluster")
}

// KeyringState is GET /keyring: the key ids and the active one.
type KeyringState struct {
	IDs    []string
	Active string
}

// KeyringNode is what carrying an Enterprise keyring over needs of a node
// beyond Node (kong-reference 9.8; sshfleet's nodes have it).
type KeyringNode interface {
	// Keyring reads GET /keyring.
	Keyring(ctx context.Context) (KeyringState, error)
	// KeyringExport is the body of POST /keyring/export ({"data": ...},
	// encrypted to keyring_public_key). It is never logged.
	KeyringExport(ctx context.Context) ([]byte, error)
	// KeyringImport sends an export to POST /keyring/import.
	KeyringImport(ctx context.Context, export []byte) (KeyringState, error)
}
