package sshtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// GenerateKey makes a key of type "ed25519", "ecdsa" (P-256) or "rsa"
// (2048 bits) and returns the private key and its signer.
func GenerateKey(t testing.TB, typ string) (crypto.PrivateKey, ssh.Signer) {
	t.Helper()
	var priv crypto.PrivateKey
	var err error
	switch typ {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("sshtest: unknown key type %q", typ)
	}
	if err != nil {
		t.Fatalf("sshtest: generate %s key: %v", typ, err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: signer: %v", err)
	}
	return priv, signer
}

// WritePrivateKey writes priv in OpenSSH format to a new file (mode 0600)
// under t.TempDir, encrypted when passphrase is non-nil, and returns the
// path.
func WritePrivateKey(t testing.TB, priv crypto.PrivateKey, passphrase []byte) string {
	t.Helper()
	var blk *pem.Block
	var err error
	if passphrase != nil {
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "sshtest", passphrase)
	} else {
		blk, err = ssh.MarshalPrivateKey(priv, "sshtest")
	}
	if err != nil {
		t.Fatalf("sshtest: marshal key: %v", err)
	}
	p := filepath.Join(t.TempDir(), "id_key")
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// HostCertSigner signs hostKey's public key as a host certificate by ca,
// valid for principals for an hour, and returns a signer presenting it.
func HostCertSigner(t testing.TB, ca, hostKey ssh.Signer, principals ...string) ssh.Signer {
	t.Helper()
	cert := &ssh.Certificate{
		Key:             hostKey.PublicKey(),
		Serial:          1,
		CertType:        ssh.HostCert,
		KeyId:           "sshtest",
		ValidPrincipals: principals,
		ValidAfter:      uint64(time.Now().Add(-time.Minute).Unix()),
		ValidBefore:     uint64(time.Now().Add(time.Hour).Unix()),
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatalf("sshtest: sign host cert: %v", err)
	}
	cs, err := ssh.NewCertSigner(cert, hostKey)
	if err != nil {
		t.Fatalf("sshtest: cert signer: %v", err)
	}
	return cs
}
