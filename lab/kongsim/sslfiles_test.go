package kongsim

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// An ssl_cert or ssl_cert_key that is neither a file nor inline PEM fails
// the configuration while a listener has ssl, as Kong's loader has it.
func TestSSLCertErrors(t *testing.T) {
	dir := t.TempDir()
	crt := filepath.Join(dir, "c.pem")
	os.WriteFile(crt, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600)
	c := &Config{Values: map[string]string{"proxy_listen": "0.0.0.0:8000, 0.0.0.0:8443 ssl", "ssl_cert": crt, "ssl_cert_key": dir + "/gone.key",
		"admin_listen": "127.0.0.1:8001", "admin_ssl_cert": dir + "/gone.pem"}}
	if got, want := sslCertErrors(c), []string{"ssl_cert_key: failed loading key from " + dir + "/gone.key"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	c.Values["ssl_cert_key"] = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==" // base64 PEM
	c.Values["proxy_listen"] = "0.0.0.0:8000"
	if got := sslCertErrors(c); len(got) != 0 {
		t.Errorf("inline key or no ssl listener: %q", got)
	}
}
