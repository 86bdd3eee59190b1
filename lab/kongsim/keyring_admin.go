package kongsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// The /keyring routes of the Admin API (EE tree kong/api/routes/keyring.lua)
// and the encrypted plugin fields (keyring.go). Kong answers these routes'
// errors with {"error": ...}, not {"message": ...}.

// msgUnexpected is the Admin API's body for an error raised inside a
// handler (a decrypt without its key, keyring.go).
const msgUnexpected = "An unexpected error occurred"

// encryptedFields are the plugin config fields marked `encrypted = true`.
var encryptedFields = map[string][]string{
	"http-log": {"http_endpoint"}, // kong/plugins/http-log/schema.lua L20
}

// exportEnvelope is the JSON inside an export's base64 `data`
// (keyring.lua /keyring/export): the AES key RSA-encrypted to
// keyring_public_key, the nonce, and the keyring AES-256-GCM-encrypted
// (without the tag).
type exportEnvelope struct {
	K string `json:"k"`
	N string `json:"n"`
	D string `json:"d"`
}

// exportedKeyring is the plaintext of an export.
type exportedKeyring struct {
	Keys   map[string]string `json:"keys"` // id: base64 key
	Active string            `json:"active"`
}

func (d *daemon) keyringRoutes(mux *http.ServeMux) {
	if !d.app.rel.EE() {
		return
	}
	mux.HandleFunc("GET /keyring", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, keyringBody(d.keyringOf()))
	})
	mux.HandleFunc("GET /keyring/active", func(w http.ResponseWriter, r *http.Request) {
		kr := d.keyringOf()
		_, active := kr.snapshot()
		if active == "" {
			writeJSON(w, 503, map[string]string{"error": "active key not found"})
			return
		}
		writeJSON(w, 200, map[string]string{"id": active})
	})
	mux.HandleFunc("POST /keyring/export", d.clusterOnly(d.keyringExport))
	mux.HandleFunc("POST /keyring/import", d.clusterOnly(d.keyringImport))
	mux.HandleFunc("POST /keyring/recover", d.clusterOnly(d.keyringRecover))
	mux.HandleFunc("POST /keyring/activate", d.clusterOnly(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeDBError(w, err)
			return
		}
		id, _ := body["key"].(string)
		if err := d.activateKey(r.Context(), id); err != nil {
			writeJSON(w, 500, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(204)
	}))
}

// keyringBody is GET /keyring: cjson encodes an empty ids table as {} and
// leaves out a nil active.
func keyringBody(kr *keyring) map[string]any {
	ids, active := kr.snapshot()
	out := map[string]any{"ids": ids}
	if len(ids) == 0 {
		out["ids"] = map[string]any{}
	}
	if active != "" {
		out["active"] = active
	}
	return out
}

// clusterOnly is keyring.lua's `before = cluster_only`.
func (d *daemon) clusterOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.conf.Get("keyring_strategy") != "cluster" {
			writeJSON(w, 400, map[string]string{"error": "endpoint only supported for 'cluster' strategy"})
			return
		}
		h(w, r)
	}
}

func (d *daemon) keyringExport(w http.ResponseWriter, r *http.Request) {
	kr := d.keyringOf()
	if len(kr.envPub) == 0 {
		writeJSON(w, 500, map[string]string{"error": "missing backup public key"})
		return
	}
	pub, _, err := parseRSA(kr.envPub)
	if err != nil || pub == nil {
		writeJSON(w, 500, map[string]string{"error": "invalid backup public key"})
		return
	}
	ids, active := kr.snapshot()
	plain := exportedKeyring{Keys: map[string]string{}, Active: active}
	kr.mu.Lock()
	for _, id := range ids {
		plain.Keys[id] = base64.StdEncoding.EncodeToString(kr.keys[id])
	}
	kr.mu.Unlock()
	pj, _ := json.Marshal(plain)
	key, nonce := make([]byte, 32), make([]byte, 12)
	_, _ = rand.Read(key)
	_, _ = rand.Read(nonce)
	c, err := gcmNoTag(key, nonce, pj)
	if err == nil {
		var kEnc []byte
		if kEnc, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key); err == nil {
			env, _ := json.Marshal(exportEnvelope{K: b64(kEnc), N: b64(nonce), D: b64(c)})
			writeJSON(w, 200, map[string]string{"data": b64(env)})
			return
		}
	}
	writeJSON(w, 500, map[string]string{"error": err.Error()})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// keyringImport adds an export's keys (local only, as keyring.lua does)
// and activates its active key cluster-wide.
func (d *daemon) keyringImport(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) { writeJSON(w, 500, map[string]string{"error": msg}) }
	body, err := readBody(r)
	if err != nil {
		writeDBError(w, err)
		return
	}
	kr := d.keyringOf()
	if d.kr == nil {
		fail("keyring is not enabled")
		return
	}
	_, priv, err := parseRSA(kr.envKey)
	if err != nil || priv == nil {
		fail("missing or invalid keyring_private_key")
		return
	}
	data, _ := body["data"].(string)
	raw, err := base64.StdEncoding.DecodeString(data)
	var env exportEnvelope
	if err != nil || json.Unmarshal(raw, &env) != nil {
		fail("invalid keyring export")
		return
	}
	kEnc, err1 := base64.StdEncoding.DecodeString(env.K)
	nonce, err2 := base64.StdEncoding.DecodeString(env.N)
	c, err3 := base64.StdEncoding.DecodeString(env.D)
	if err1 != nil || err2 != nil || err3 != nil {
		fail("invalid keyring export")
		return
	}
	key, err := rsa.DecryptPKCS1v15(rand.Reader, priv, kEnc)
	if err != nil {
		fail(err.Error())
		return
	}
	p, err := gcmNoTag(key, nonce, c)
	var plain exportedKeyring
	if err != nil || json.Unmarshal(p, &plain) != nil {
		fail("invalid keyring export")
		return
	}
	keys := map[string][]byte{}
	for id, k := range plain.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			fail("failure to add to keyring")
			return
		}
		keys[id] = b
	}
	kr.add(keys)
	if err := d.activateKey(r.Context(), plain.Active); err != nil {
		fail(err.Error())
		return
	}
	writeJSON(w, 200, keyringBody(kr))
}

// sealPlugin returns p as stored: its encrypted fields sealed with the
// active key.
func (d *daemon) sealPlugin(p Plugin) (Plugin, error) {
	fields := encryptedFields[p.Name]
	if d.kr == nil || len(fields) == 0 {
		return p, nil
	}
	p.Config = maps.Clone(p.Config)
	for _, f := range fields {
		if s, ok := p.Config[f].(string); ok {
			c, err := d.kr.encrypt(s)
			if err != nil {
				return p, &apiError{500, map[string]string{"message": msgUnexpected}}
			}
			p.Config[f] = c
		}
	}
	return p, nil
}

// openPlugins decrypts the encrypted fields of plugins read from the
// database, in place; a missing key fails the request.
func (d *daemon) openPlugins(ps []Plugin) error {
	if d.kr == nil {
		return nil
	}
	for i := range ps {
		fields := encryptedFields[ps[i].Name]
		if len(fields) == 0 {
			continue
		}
		ps[i].Config = maps.Clone(ps[i].Config)
		for _, f := range fields {
			if s, ok := ps[i].Config[f].(string); ok {
				v, err := d.kr.decrypt(s)
				if err != nil {
					d.logf("error", "[keyring] %s: %s", f, err)
					return &apiError{500, map[string]string{"message": msgUnexpected}}
				}
				ps[i].Config[f] = v
			}
		}
	}
	return nil
}

// plugin is getPlugin with the encrypted fields opened.
func (d *daemon) plugin(ctx context.Context, c *pgx.Conn, id string) (Plugin, error) {
	p, err := d.app.rel.getPlugin(ctx, c, id)
	if err != nil {
		return p, err
	}
	ps := []Plugin{p}
	err = d.openPlugins(ps)
	return ps[0], err
}
