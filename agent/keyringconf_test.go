package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// The keyring's settings come from the effective configuration (the
// service's KONG_* over kong.conf); the key settings are reported as set
// or not, their values (paths, or PEM in base64) never.
func TestKeyringConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kong.conf")
	body := "keyring_enabled = on\nkeyring_private_key = LS0tLS1CRUdJTiBQUklWQVRF\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadKongConf(p)
	if err != nil {
		t.Fatal(err)
	}
	f := c.facts("3.4.3.5")
	want := agentproto.KeyringConf{Enabled: true, Strategy: "cluster", PrivateKey: true}
	if f.Keyring != want {
		t.Errorf("kong.conf only: %+v, want %+v", f.Keyring, want)
	}
	c.applyEnv(&serviceEnv{Vars: map[string]string{"KONG_KEYRING_PUBLIC_KEY": "/etc/kong/keyring/cert.pem", "KONG_KEYRING_STRATEGY": "vault"}})
	f = c.facts("3.4.3.5")
	want = agentproto.KeyringConf{Enabled: true, Strategy: "vault", PublicKey: true, PrivateKey: true}
	if f.Keyring != want {
		t.Errorf("with the service's environment: %+v, want %+v", f.Keyring, want)
	}
	for _, e := range f.Entries {
		if strings.Contains(e.Value, "LS0t") {
			t.Errorf("the private key's value left the node: %+v", e)
		}
	}
	for v, want := range map[string]bool{"on": true, "TRUE": true, "off": false, "": false, "maybe": false} {
		if confBool(v) != want {
			t.Errorf("confBool(%q) != %v", v, want)
		}
	}
}
