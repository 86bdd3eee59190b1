package labenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// The Enterprise keyring of a KEYRING=1 lab (kong-reference 9.8): every
// node runs keyring_enabled = on with keyring_strategy = cluster and the
// RSA pair its keyring is exported to and imported from, the way Kong's
// docs set it up (`openssl genrsa` + `openssl rsa -pubout`).

// Keyring pair files: beside hosts.hcl (the private key 0600), and where
// kong.conf names them on the nodes.
const (
	KeyringPrivateKeyFile = "keyring-key.pem"
	KeyringPublicKeyFile  = "keyring-cert.pem"
	nodeKeyringDir        = "/etc/kong/keyring"
)

// writeKeyringPair writes the pair unless it exists.
func writeKeyringPair(dir string) error {
	priv, pub := filepath.Join(dir, KeyringPrivateKeyFile), filepath.Join(dir, KeyringPublicKeyFile)
	if _, err := os.Stat(priv); err == nil {
		if _, err := os.Stat(pub); err == nil {
			return nil
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate keyring key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return fmt.Errorf("keyring public key: %w", err)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		return fmt.Errorf("write keyring key: %w", err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write keyring public key: %w", err)
	}
	return nil
}

// keyringEnv is what kong-node.sh needs to write the keyring settings.
func keyringEnv() []string {
	return []string{"KEYRING_PUBLIC_KEY=" + nodeKeyringDir + "/cert.pem", "KEYRING_PRIVATE_KEY=" + nodeKeyringDir + "/key.pem"}
}

// installKeyringPair copies the pair onto a node (the key 0640, group kong).
func (l *Lab) installKeyringPair(ctx context.Context, h *Host) error {
	cp := fmt.Sprintf("mkdir -p %[1]s && install -m 0644 %[2]s %[1]s/cert.pem && install -m 0640 %[3]s %[1]s/key.pem && "+
		"if getent group kong >/dev/null; then chgrp kong %[1]s/key.pem; fi",
		nodeKeyringDir, filepath.Join(l.st.Dir, KeyringPublicKeyFile), filepath.Join(l.st.Dir, KeyringPrivateKeyFile))
	if _, err := execIn(ctx, h, nil, nil, cp); err != nil {
		return fmt.Errorf("host %s: install the keyring pair: %w", h.Name, err)
	}
	return nil
}
