package kongsim

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The Enterprise keyring with the cluster strategy (kong-reference 9.8;
// sources are the EE tree's kong/keyring/init.lua, kong/keyring/utils.lua,
// kong/keyring/strategies/cluster.lua and kong/api/routes/keyring.lua).
//
// The keys live only in the running nodes' memory (ngx.shared.kong_keyring).
// The database holds their ids and which one is active (keyring_meta), never
// the keys. The first node to start on an empty keyring_meta generates a
// 32-byte key under a cluster mutex and activates it; a node starting later
// with an empty keyring posts a keyring_register cluster event carrying an
// ephemeral RSA public key of its own, and every live node that holds keys
// answers with a keyring_broadcast event, each key RSA-encrypted to that
// key. Every db_update_frequency a node asks again for the ids keyring_meta
// lists that it lacks. So when every node has stopped, nobody can answer:
// the restarted nodes have no keys, and reading an encrypted field fails
// until the keyring is imported (POST /keyring/import, keyring.go's export
// format) or recovered.
//
// Encrypted fields: http-log's config.http_endpoint (EE tree
// kong/plugins/http-log/schema.lua L20 `encrypted = true`). Values are
// "$ke$1$-<key id>-<nonce hex>-<ciphertext hex>", AES-256-GCM without the
// tag (init.lua encrypt: cp:update only, no final). A value without the
// marker is read as is. Reading a value whose key is missing raises an
// error (init.lua decrypt: backoff(get_key) then error(err)), which the
// Admin API answers with 500 {"message":"An unexpected error occurred"};
// Kong first retries with a backoff of some 20 s, the simulator answers at
// once.
//
// With keyring_recovery_public_key, each key the cluster creates is also
// stored RSA-encrypted to that key in keyring_keys (utils.lua
// recovery_encrypt), and POST /keyring/recover with the private key reads
// them back (keyring_recover.go).
//
// Not modelled: keyring_blob_path, the vault strategy (the daemon refuses
// to start with it), /keyring/generate, /keyring/remove,
// /keyring/import/raw.

// keyMarker starts an encrypted value (init.lua CRYPTO_MARKER).
const keyMarker = "$ke$1$"

// errKeyNotFound is init.lua get_key's error.
var errKeyNotFound = errors.New("key not found")

// keyring is one node's keyring.
type keyring struct {
	mu     sync.Mutex
	keys   map[string][]byte
	active string
	node   *rsa.PrivateKey // the ephemeral node key of cluster.lua generate_node_keys
	envPub []byte          // keyring_public_key (PEM), for /keyring/export
	envKey []byte          // keyring_private_key (PEM), for /keyring/import

	seen  map[string]bool // cluster events handled
	since time.Time       // cluster events read from
}

// keyringOn reports whether this release and configuration run a keyring.
func (c *Config) keyringOn(rel Release) bool {
	return rel.EE() && c.Bool("keyring_enabled")
}

// keyringFile reads a keyring_*_key value: a file path, else the PEM in
// base64 (EE conf_loader validate_rsa L860-871).
func keyringFile(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	if _, err := os.Stat(v); err != nil {
		b, derr := base64.StdEncoding.DecodeString(v)
		if derr != nil {
			return nil, err
		}
		return b, nil
	}
	return os.ReadFile(v)
}

// validateKeyring is validate_keyring (EE conf_loader L896-901, with
// validate_rsa L860-890 and the keyring_strategy enum L174); the
// messages keep Kong's missing spaces.
func validateKeyring(c *Config) []string {
	var errs []string
	if s := c.Get("keyring_strategy"); s != "cluster" && s != "vault" {
		errs = append(errs, fmt.Sprintf("keyring_strategy has an invalid value: '%s' (cluster, vault)", s))
	}
	if !c.Bool("keyring_enabled") {
		return errs
	}
	for _, k := range []struct {
		key     string
		private bool
	}{{"keyring_recovery_public_key", false}, {"keyring_public_key", false}, {"keyring_private_key", true}} {
		b, err := keyringFile(c.Get(k.key))
		if err != nil {
			errs = append(errs, "failed to read "+k.key+" file: "+err.Error())
			continue
		}
		if b == nil {
			continue
		}
		pub, priv, err := parseRSA(b)
		switch {
		case err != nil:
			errs = append(errs, "failed to parse "+k.key+"file: "+err.Error())
		case priv != nil && !k.private:
			errs = append(errs, k.key+"file must be a public key")
		case pub != nil && k.private:
			errs = append(errs, k.key+"file must be a private key")
		}
	}
	return errs
}

// parseRSA reads one PEM RSA key, public or private.
func parseRSA(b []byte) (*rsa.PublicKey, *rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, errors.New("no PEM data")
	}
	if k, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil, nil
		}
		return nil, nil, errors.New("not an RSA key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return nil, k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("not an RSA key")
	}
	return nil, rk, nil
}

// ctrStream is AES-256-GCM's keystream without the tag: the counter starts
// at nonce||2 for a 12-byte nonce (NIST SP 800-38D 7.1), which is what
// OpenSSL's aes-256-gcm update gives when no final is called.
func ctrStream(key, nonce []byte) (cipher.Stream, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	iv := append(append([]byte{}, nonce...), 0, 0, 0, 2)
	return cipher.NewCTR(blk, iv), nil
}

func gcmNoTag(key, nonce, in []byte) ([]byte, error) {
	s, err := ctrStream(key, nonce)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(in))
	s.XORKeyStream(out, in)
	return out, nil
}

// encrypt seals a field with the active key (init.lua encrypt).
func (k *keyring) encrypt(plain string) (string, error) {
	if strings.HasPrefix(plain, keyMarker) {
		return plain, nil
	}
	k.mu.Lock()
	id, key := k.active, k.keys[k.active]
	k.mu.Unlock()
	if key == nil {
		return "", errors.New("active key not found")
	}
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	c, err := gcmNoTag(key, nonce, []byte(plain))
	if err != nil {
		return "", err
	}
	return keyMarker + "-" + id + "-" + hex.EncodeToString(nonce) + "-" + hex.EncodeToString(c), nil
}

// decrypt opens a field (init.lua decrypt); plain values pass through.
func (k *keyring) decrypt(v string) (string, error) {
	if !strings.HasPrefix(v, keyMarker) {
		return v, nil
	}
	parts := strings.SplitN(strings.TrimPrefix(v, keyMarker+"-"), "-", 3)
	if len(parts) != 3 {
		return "", errors.New("malformed encrypted value")
	}
	k.mu.Lock()
	key := k.keys[parts[0]]
	k.mu.Unlock()
	if key == nil {
		return "", errKeyNotFound
	}
	nonce, err1 := hex.DecodeString(parts[1])
	c, err2 := hex.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return "", errors.New("malformed encrypted value")
	}
	p, err := gcmNoTag(key, nonce, c)
	return string(p), err
}

// add puts keys into the keyring; a new one never replaces a held one.
func (k *keyring) add(keys map[string][]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, key := range keys {
		if _, ok := k.keys[id]; !ok {
			k.keys[id] = key
		}
	}
}

// activateLocal is init.lua activate_local: only a held key.
func (k *keyring) activateLocal(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[id]; !ok {
		return false
	}
	k.active = id
	return true
}

// snapshot returns the ids (sorted) and the active id.
func (k *keyring) snapshot() ([]string, string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, k.active
}

// newKeyID is init.lua new_id: 8 characters of a random string.
func newKeyID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// keyringOf is the node's keyring, empty when the keyring is off (the
// /keyring routes still answer then, as Kong's do on EE).
func (d *daemon) keyringOf() *keyring {
	if d.kr != nil {
		return d.kr
	}
	return &keyring{keys: map[string][]byte{}}
}

// startKeyring is cluster.lua init plus the first request of init_worker:
// bootstrap the first key on an empty keyring_meta, else ask the live
// nodes for the keys.
func (d *daemon) startKeyring(ctx context.Context) error {
	if !d.conf.keyringOn(d.app.rel) || d.pool == nil {
		return nil
	}
	if s := d.conf.Get("keyring_strategy"); s != "cluster" {
		return fmt.Errorf("nginx: [error] init_by_lua error: kongsim: keyring_strategy = %s is not simulated (only cluster)", s)
	}
	node, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("nginx: [error] init_by_lua error: %s", err)
	}
	kr := &keyring{keys: map[string][]byte{}, node: node, seen: map[string]bool{}}
	kr.envPub, _ = keyringFile(d.conf.Get("keyring_public_key"))
	kr.envKey, _ = keyringFile(d.conf.Get("keyring_private_key"))
	err = d.pool.with(ctx, func(c *pgx.Conn) error {
		if err := c.QueryRow(ctx, `SELECT now()`).Scan(&kr.since); err != nil {
			return err
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// cluster_mutex("keyring_bootstrap") around the first key.
		if _, err := tx.Exec(ctx, `LOCK TABLE keyring_meta IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM keyring_meta`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return tx.Commit(ctx)
		}
		id, key := newKeyID(), make([]byte, 32)
		_, _ = rand.Read(key)
		if _, err := tx.Exec(ctx, `INSERT INTO keyring_meta (id, state, created_at) VALUES ($1, 'active', now())`, id); err != nil {
			return err
		}
		if err := recoveryBackup(ctx, tx, d.conf.Get("keyring_recovery_public_key"), id, key); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		kr.keys[id], kr.active = key, id
		d.logf("info", "[keyring cluster] bootstrapped key %s", id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("nginx: [error] init_by_lua error: [keyring] %s", pgErrText(err))
	}
	d.kr = kr
	if ids, _ := kr.snapshot(); len(ids) == 0 {
		d.requestKeys(ctx, "*")
	}
	return nil
}

// activate is init.lua activate: locally, in keyring_meta (under the
// keyring_activate mutex), then the keyring_activate event.
func (d *daemon) activateKey(ctx context.Context, id string) error {
	kr := d.keyringOf()
	if !kr.activateLocal(id) {
		return errors.New("not found")
	}
	if d.pool == nil {
		return nil
	}
	err := d.pool.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO keyring_meta (id, state, created_at) VALUES ($1, 'active', now())
ON CONFLICT (id) DO UPDATE SET state = 'active'`, id)
		if err == nil {
			_, err = c.Exec(ctx, `UPDATE keyring_meta SET state = 'alive' WHERE id <> $1 AND state = 'active'`, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	d.postEvent(ctx, "keyring_activate", id)
	return nil
}
