//go:build integration

package kongsim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Enterprise keyring, cluster strategy (kong-reference 9.8; EE tree
// kong/keyring/*, kong/api/routes/keyring.lua).

// keyringPair writes an RSA pair as keyring_public_key / keyring_private_key
// files (the docs' `openssl genrsa` + `openssl rsa -pubout`).
func keyringPair(t *testing.T) (pub, priv string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, priv = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

type keyringView struct {
	IDs    json.RawMessage `json:"ids"`
	Active string          `json:"active"`
}

func getKeyring(t *testing.T, n *node) keyringView {
	t.Helper()
	code, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/keyring", n.admin), nil)
	var v keyringView
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("GET /keyring: %d %s", code, body)
	}
	return v
}

func TestKeyring(t *testing.T) {
	const ee = "3.4.3.5"
	pub, priv := keyringPair(t)
	conf := []string{"keyring_enabled = on", "keyring_strategy = cluster", "keyring_public_key = " + pub,
		"keyring_private_key = " + priv, "db_update_frequency = 1"}
	const endpoint = "http://logs.internal:9000/secret-path"

	t.Run("9.8/kong check: strategy enum and RSA key files (conf_loader L174, L860-901)", func(t *testing.T) {
		n := newDBNode(t, "keyring_enabled = on", "keyring_strategy = memory", "keyring_private_key = "+pub)
		r := n.run(sim(t, ee), "check", n.conf)
		if r.code != 1 || !strings.Contains(r.stderr, "keyring_strategy has an invalid value: 'memory' (cluster, vault)") ||
			!strings.Contains(r.stderr, "keyring_private_keyfile must be a private key") {
			t.Errorf("%s", r)
		}
	})

	t.Run("9.8/keys shared by the running nodes, fields encrypted at rest, lost when every node restarts, back by import", func(t *testing.T) {
		a := newDBNode(t, conf...)
		b := newNode(t, sharedPG, a.db, conf...)
		a.must(a.kong(ee, "migrations", "bootstrap"), 0)
		a.must(a.kong(ee, "start"), 0)
		defer a.run(sim(t, ee), "stop", "-p", a.prefix)
		ka := getKeyring(t, a)
		if ka.Active == "" || string(ka.IDs) != `["`+ka.Active+`"]` {
			t.Fatalf("first node's keyring after bootstrap: %+v", ka)
		}
		var state string
		a.queryRow(`SELECT state FROM keyring_meta WHERE id = '`+ka.Active+`'`, &state)
		if state != "active" {
			t.Fatalf("keyring_meta state %q", state)
		}
		adminA := fmt.Sprintf("http://127.0.0.1:%d", a.admin)
		code, body := httpDo(t, "POST", adminA+"/plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": endpoint}})
		if code != 201 {
			t.Fatalf("create http-log: %d %s", code, body)
		}
		var p struct {
			ID     string         `json:"id"`
			Config map[string]any `json:"config"`
		}
		_ = json.Unmarshal([]byte(body), &p)
		if p.Config["http_endpoint"] != endpoint {
			t.Fatalf("the Admin API shows the field in clear: %s", body)
		}
		var stored string
		a.queryRow(`SELECT config->>'http_endpoint' FROM plugins WHERE id = '`+p.ID+`'`, &stored)
		if !strings.HasPrefix(stored, "$ke$1$-"+ka.Active+"-") || strings.Contains(stored, "secret-path") {
			t.Fatalf("stored %q: want $ke$1$-<id>-<nonce>-<ciphertext> (init.lua CRYPTO_MARKER)", stored)
		}

		// A second node asks the live one for the keys (keyring_register /
		// keyring_broadcast cluster events) and reads the field.
		b.must(b.kong(ee, "start"), 0)
		eventually(t, "second node gets the key", func() (bool, string) {
			kb := getKeyring(t, b)
			return kb.Active == ka.Active, fmt.Sprintf("%+v", kb)
		})
		if code, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/plugins/%s", b.admin, p.ID), nil); code != 200 || !strings.Contains(body, endpoint) {
			t.Fatalf("second node reads the field: %d %s", code, body)
		}

		// The export is encrypted to keyring_public_key.
		code, body = httpDo(t, "POST", adminA+"/keyring/export", nil)
		var exp struct{ Data string }
		if code != 200 || json.Unmarshal([]byte(body), &exp) != nil || exp.Data == "" {
			t.Fatalf("export: %d %s", code, body)
		}

		// Every node stops: nobody holds the keys any more.
		a.must(a.run(sim(t, ee), "stop", "-p", a.prefix), 0)
		b.must(b.run(sim(t, ee), "stop", "-p", b.prefix), 0)
		a.must(a.kong(ee, "start"), 0)
		if k := getKeyring(t, a); string(k.IDs) != `{}` || k.Active != "" {
			t.Fatalf("restarted node's keyring: %+v (cjson encodes the empty ids as {})", k)
		}
		code, body = httpDo(t, "GET", adminA+"/plugins/"+p.ID, nil)
		if code != 500 || strings.TrimSpace(body) != `{"message":"An unexpected error occurred"}` {
			t.Fatalf("reading an encrypted field without its key: %d %s", code, body)
		}
		if code, body := httpDo(t, "GET", adminA+"/plugins", nil); code != 500 {
			t.Fatalf("listing plugins without the key: %d %s", code, body)
		}

		// Import brings it back; a node started later gets it from this one.
		code, body = httpDo(t, "POST", adminA+"/keyring/import", map[string]string{"data": exp.Data})
		if code != 200 || !strings.Contains(body, ka.Active) {
			t.Fatalf("import: %d %s", code, body)
		}
		if code, body := httpDo(t, "GET", adminA+"/plugins/"+p.ID, nil); code != 200 || !strings.Contains(body, endpoint) {
			t.Fatalf("after import: %d %s", code, body)
		}
		b.must(b.kong(ee, "start"), 0)
		defer b.run(sim(t, ee), "stop", "-p", b.prefix)
		eventually(t, "node started after the import gets the key", func() (bool, string) {
			kb := getKeyring(t, b)
			return kb.Active == ka.Active, fmt.Sprintf("%+v", kb)
		})
	})

	t.Run("9.8/keyring_recovery_public_key: keys kept in keyring_keys, POST /keyring/recover reads them (utils.lua recover)", func(t *testing.T) {
		rpub, rpriv := keyringPair(t)
		n := newDBNode(t, append(conf, "keyring_recovery_public_key = "+rpub)...)
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		n.must(n.kong(ee, "start"), 0)
		defer n.run(sim(t, ee), "stop", "-p", n.prefix)
		admin := fmt.Sprintf("http://127.0.0.1:%d", n.admin)
		k := getKeyring(t, n)
		var rid, enc string
		n.queryRow(`SELECT recovery_key_id, key_encrypted FROM keyring_keys WHERE id = '`+k.Active+`'`, &rid, &enc)
		if len(rid) != 64 || !strings.HasPrefix(enc, "$ker$1$") {
			t.Fatalf("keyring_keys row: %q %q", rid, enc)
		}
		code, body := httpDo(t, "POST", admin+"/plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": endpoint}})
		var p struct{ ID string }
		if code != 201 || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("%d %s", code, body)
		}
		n.must(n.run(sim(t, ee), "stop", "-p", n.prefix), 0)
		n.must(n.kong(ee, "start"), 0)
		if code, _ := httpDo(t, "GET", admin+"/plugins/"+p.ID, nil); code != 500 {
			t.Fatalf("before the recovery: %d", code)
		}
		_, wrong := keyringPair(t)
		for _, c := range []struct{ key, want string }{{wrong, `"successfully recovered 0 keys"`}, {rpriv, `"successfully recovered 1 keys"`}} {
			b, _ := os.ReadFile(c.key)
			code, body := httpDo(t, "POST", admin+"/keyring/recover", map[string]string{"recovery_private_key": string(b)})
			if code != 200 || !strings.Contains(body, c.want) {
				t.Fatalf("recover: %d %s, want %s", code, body, c.want)
			}
		}
		if code, body := httpDo(t, "GET", admin+"/plugins/"+p.ID, nil); code != 200 || !strings.Contains(body, endpoint) {
			t.Fatalf("after the recovery: %d %s", code, body)
		}
	})

	t.Run("9.8/export needs keyring_public_key (keyring.lua /keyring/export)", func(t *testing.T) {
		n := newDBNode(t, "keyring_enabled = on", "keyring_strategy = cluster")
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		n.must(n.kong(ee, "start"), 0)
		defer n.run(sim(t, ee), "stop", "-p", n.prefix)
		code, body := httpDo(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/keyring/export", n.admin), nil)
		if code != 500 || strings.TrimSpace(body) != `{"error":"missing backup public key"}` {
			t.Fatalf("%d %s", code, body)
		}
	})

	t.Run("9.8/the keyring is Enterprise only: OSS stores the field in clear", func(t *testing.T) {
		n := newDBNode(t, conf...)
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "start"), 0)
		defer n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix)
		code, body := httpDo(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/plugins", n.admin), map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": endpoint}})
		if code != 201 {
			t.Fatalf("%d %s", code, body)
		}
		var stored string
		n.queryRow(`SELECT config->>'http_endpoint' FROM plugins WHERE name = 'http-log'`, &stored)
		if stored != endpoint {
			t.Fatalf("stored %q", stored)
		}
	})
}
