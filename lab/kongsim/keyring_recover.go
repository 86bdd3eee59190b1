package kongsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Keyring recovery (EE tree kong/keyring/utils.lua recovery_encrypt and
// recover, kong/api/routes/keyring.lua /keyring/recover).

// recoveryMarker starts keyring_keys.key_encrypted (utils.lua
// RECOVERY_MARKER).
const recoveryMarker = "$ker$1$"

// recoveryKeyID is the hex SHA-256 of the recovery public key's DER.
func recoveryKeyID(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// recoveryBackup stores a new key encrypted to keyring_recovery_public_key
// (nothing without one).
func recoveryBackup(ctx context.Context, tx pgx.Tx, recoveryKey, id string, key []byte) error {
	b, err := keyringFile(recoveryKey)
	if err != nil || b == nil {
		return err
	}
	pub, _, err := parseRSA(b)
	if err != nil || pub == nil {
		return fmt.Errorf("recovery backup failed: %v", err)
	}
	c, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	if err != nil {
		return fmt.Errorf("recovery backup failed: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO keyring_keys (id, recovery_key_id, key_encrypted, created_at, updated_at)
VALUES ($1, $2, $3, now(), now()) ON CONFLICT (id) DO UPDATE SET recovery_key_id = $2, key_encrypted = $3, updated_at = now()`,
		id, recoveryKeyID(pub), recoveryMarker+base64.StdEncoding.EncodeToString(c))
	return err
}

// cjsonList is a list as cjson encodes it: an empty table is {}.
func cjsonList(l []string) any {
	if len(l) == 0 {
		return map[string]any{}
	}
	return l
}

// keyringRecover decrypts every keyring_keys row it can with the
// recovery private key and adds those keys locally; it activates none
// (the docs' next step is POST /keyring/activate).
func (d *daemon) keyringRecover(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeDBError(w, err)
		return
	}
	pemText, _ := body["recovery_private_key"].(string)
	_, priv, err := parseRSA([]byte(pemText))
	if err == nil && priv == nil {
		err = errors.New("recovery needs a private key")
	}
	if err != nil || d.kr == nil || d.pool == nil {
		if err == nil {
			err = errors.New("keyring is not enabled")
		}
		writeJSON(w, 500, map[string]string{"error": err.Error()})
		return
	}
	type row struct{ id, enc string }
	var rows []row
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	err = d.pool.with(ctx, func(c *pgx.Conn) error {
		rs, err := c.Query(ctx, `SELECT id, key_encrypted FROM keyring_keys ORDER BY id`)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(rs, func(cr pgx.CollectableRow) (row, error) {
			var x row
			err := cr.Scan(&x.id, &x.enc)
			return x, err
		})
		return err
	})
	if err != nil {
		writeJSON(w, 500, map[string]string{"error": pgErrText(err)})
		return
	}
	recovered, notRecovered := []string{}, []string{}
	got := map[string][]byte{}
	for _, x := range rows {
		c, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(x.enc, recoveryMarker))
		var key []byte
		if err == nil && strings.HasPrefix(x.enc, recoveryMarker) {
			key, err = rsa.DecryptPKCS1v15(rand.Reader, priv, c)
		}
		if err != nil || key == nil {
			notRecovered = append(notRecovered, x.id)
			continue
		}
		got[x.id] = key
		recovered = append(recovered, x.id)
	}
	d.kr.add(got)
	writeJSON(w, 200, map[string]any{"message": fmt.Sprintf("successfully recovered %d keys", len(recovered)),
		"recovered": cjsonList(recovered), "not_recovered": cjsonList(notRecovered)})
}
