//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 17 part 5, Enterprise material that must follow the data: an
// Enterprise 3.4.3.5 fleet with the cluster keyring on (the keys only in
// X's memory) holds an http-log plugin whose http_endpoint is encrypted
// at rest in X's database. Without keyring_private_key in the kong.conf
// the spares get, the dual-cluster upgrade is refused in preflight,
// naming what cannot be copied to Y. With it (and the key pair put on the
// spares by the operator, as kongctl never copies key files), Y on the
// spares imports X's keyring export after its start: the field restored
// into kong_y is readable on Y, and X still reads it.
func TestDualClusterEnterpriseKeyring(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Spares: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", Keyring: true, LB: true})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	active := e.clusterKey(olds, "")
	const endpoint = "http://logs.internal:9000/dual-cluster-keyring"
	code, body := adminPostToken(e.lab.Address(olds[0]), "/plugins", "", `{"name":"http-log","config":{"http_endpoint":"`+endpoint+`"}}`)
	var plugin struct{ ID string }
	if code != 201 || json.Unmarshal([]byte(body), &plugin) != nil {
		t.Fatalf("create http-log: %d %s", code, body)
	}
	readable := func(when string, hosts []string) {
		t.Helper()
		for _, h := range hosts {
			if code, body := adminGet(e.lab.Address(h), "/plugins/"+plugin.ID, ""); code != 200 || !strings.Contains(body, endpoint) {
				t.Errorf("%s: %s: GET /plugins/%s: %d %s", when, h, plugin.ID, code, body)
			}
			if code, body := adminGet(e.lab.Address(h), "/keyring", ""); code != 200 || !strings.Contains(body, `"active":"`+active+`"`) {
				t.Errorf("%s: %s: GET /keyring: %d %s", when, h, code, body)
			}
		}
	}
	readable("before the upgrade", olds)
	e.inv = e.dualClusterInventory()

	// No keyring_private_key where the spares' kong.conf comes from.
	e.nodeExec(olds[0], `sed -i '/^keyring_private_key/d' /etc/kong/kong.conf`)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	e.nodeExec(olds[0], `echo "keyring_private_key = /etc/kong/keyring/key.pem" >> /etc/kong/kong.conf`)
	if r.code != 1 {
		t.Fatalf("upgrade without keyring_private_key: want exit 1 (refused in preflight): %s", r)
	}
	if msg, ok := finalReport(t, r.stdout).finding("keyring-import"); !ok || !strings.Contains(msg, "cannot be copied to Y") || !strings.Contains(msg, "keyring_private_key") {
		t.Errorf("refusal %q: want what cannot be copied to Y named", msg)
	}

	// The operator puts the key pair on the spares; the upgrade carries
	// the keyring to Y.
	for _, h := range spares {
		e.nodeExec(h, fmt.Sprintf("mkdir -p /etc/kong/keyring && install -m 0644 %s /etc/kong/keyring/cert.pem && install -m 0640 %s /etc/kong/keyring/key.pem",
			filepath.Join(e.lab.Dir(), labenv.KeyringPublicKeyFile), filepath.Join(e.lab.Dir(), labenv.KeyringPrivateKeyFile)))
	}
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.10.0.2", spares...)
	readable("on Y after the upgrade", spares)
	readable("on X after the upgrade", olds)
}
