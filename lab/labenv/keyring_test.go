package labenv

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// The keyring pair: an RSA private key (0600) and its public key, kept
// when the lab is brought up again.
func TestWriteKeyringPair(t *testing.T) {
	dir := t.TempDir()
	if err := writeKeyringPair(dir); err != nil {
		t.Fatal(err)
	}
	kb, _ := os.ReadFile(filepath.Join(dir, KeyringPrivateKeyFile))
	pb, _ := os.ReadFile(filepath.Join(dir, KeyringPublicKeyFile))
	kblk, _ := pem.Decode(kb)
	pblk, _ := pem.Decode(pb)
	if kblk == nil || pblk == nil {
		t.Fatal("not PEM")
	}
	k, err := x509.ParsePKCS1PrivateKey(kblk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pblk.Bytes)
	if err != nil || !k.PublicKey.Equal(pub) {
		t.Fatalf("public key does not match: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyringPrivateKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", fi.Mode())
	}
	if err := writeKeyringPair(dir); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, KeyringPrivateKeyFile)); string(again) != string(kb) {
		t.Error("the pair was replaced")
	}
}
