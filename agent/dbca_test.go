//go:build !nodeagent

package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// testCA is a CA and one server certificate it signed for 127.0.0.1.
type testCA struct {
	CAPEM, CertPEM, KeyPEM []byte
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kongctl test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return testCA{
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
	}
}

// The CA the controller sends is kept in one file of the state directory,
// named by its content, and named to libpq (PGSSLROOTCERT, in the
// environment, never argv) and to the agent's own connections
// (sslrootcert: verify-full then checks against it, not the system's).
func TestDatabaseCAFile(t *testing.T) {
	a := &Agent{StateDir: t.TempDir()}
	ca := newTestCA(t)
	c := agentproto.DBConn{Host: "127.0.0.1", User: "kong", Database: "kong", SSLMode: "verify-full", CACert: string(ca.CAPEM), Password: "pw"}

	p, err := a.caFile(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(ca.CAPEM) || filepath.Dir(p) != filepath.Join(a.StateDir, "pgca") {
		t.Fatalf("CA file %s holds %q", p, got)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("CA file mode %v, want owner-only as every agent file", st.Mode())
	}
	if st, _ := os.Stat(filepath.Dir(p)); st.Mode().Perm() != 0o700 {
		t.Errorf("CA dir mode %v", st.Mode())
	}
	if p2, _ := a.caFile(c); p2 != p {
		t.Errorf("same CA, new file: %s, %s", p, p2)
	}
	other := c
	other.CACert = string(newTestCA(t).CAPEM)
	if p3, _ := a.caFile(other); p3 == p {
		t.Error("another CA overwrote the file")
	}
	if none, err := a.caFile(agentproto.DBConn{}); none != "" || err != nil {
		t.Errorf("no CA: %q %v", none, err)
	}

	env, err := a.libpqEnv(c)
	if err != nil || !slices.Contains(env, "PGSSLROOTCERT="+p) || !slices.Contains(env, "PGSSLMODE=verify-full") {
		t.Errorf("libpq env %q %v", env, err)
	}
	if env := pgEnv(agentproto.DBConn{Host: "h", User: "u"}, ""); slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "PGSSLROOTCERT=") }) {
		t.Errorf("PGSSLROOTCERT without a CA: %q", env)
	}

	cfg, err := connConfig(c, "", p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs == nil || cfg.TLSConfig.ServerName != "127.0.0.1" {
		t.Fatalf("verify-full with the CA: tls %+v", cfg.TLSConfig)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CAPEM)
	if !cfg.TLSConfig.RootCAs.Equal(pool) {
		t.Error("the connection trusts other roots than the CA given")
	}
}
