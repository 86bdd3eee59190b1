package kongsim

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Enterprise RBAC on the Admin API (kong-reference 9.1).
//
// With enforce_rbac other than off (on, both or entity), every Admin API
// route but the exempt ones needs a valid token in the rbac_auth_header
// (default Kong-Admin-Token), GET / and /metrics included; the Status API
// is never checked. The simulator checks authentication only: a valid
// token of an enabled rbac_users row is allowed everything (the seeded
// super admin is; per-endpoint permissions and their 403 are not
// modelled).

// RBACModes are the values enforce_rbac takes (EE conf_loader L55).
var RBACModes = []string{"on", "off", "both", "entity"}

// rbacExempt are the Admin API paths served without a token
// (kong/rbac/init.lua L48-55).
var rbacExempt = []string{"/auth", "/userinfo", "/admins/register", "/admins/password_resets", "/admins/self/password", "/admins/self/token"}

// The 401 bodies (rbac/init.lua L1579, L1649; api_helpers.lua L114).
const (
	msgInvalidRBAC     = "Invalid RBAC credentials"
	msgNeedCredentials = "Invalid credentials. Token or User credentials required"
)

// rbacOn reports whether the Admin API checks tokens.
func (c *Config) rbacOn(rel Release) bool {
	return rel.EE() && c.Get("enforce_rbac") != "" && c.Get("enforce_rbac") != "off"
}

// withRBAC wraps the Admin API's routes in the token check when RBAC is
// enforced.
func (d *daemon) withRBAC(h http.Handler) http.Handler {
	if !d.conf.rbacOn(d.app.rel) {
		return h
	}
	header := d.conf.Get("rbac_auth_header")
	if header == "" {
		header = "Kong-Admin-Token"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(rbacExempt, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		token := r.Header.Get(header)
		if token == "" {
			if d.conf.Get("admin_gui_auth") != "" && r.Header.Get(d.adminGUIAuthHeader()) == "" {
				writeJSON(w, 401, map[string]string{"message": msgNeedCredentials})
				return
			}
			writeJSON(w, 401, map[string]string{"message": msgInvalidRBAC})
			return
		}
		if !d.validToken(r.Context(), token) {
			writeJSON(w, 401, map[string]string{"message": msgInvalidRBAC})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (d *daemon) adminGUIAuthHeader() string {
	if v := d.conf.Get("admin_gui_auth_header"); v != "" {
		return v
	}
	return "Kong-Admin-User"
}

// tokenIdent is rbac_users.user_token_ident: the first 5 hex characters of
// SHA-1(token) (rbac/init.lua L1345-1356; SHA-256 in FIPS mode).
func tokenIdent(token string) string {
	sum := sha1.Sum([]byte(token))
	return hex.EncodeToString(sum[:])[:5]
}

// validToken looks the token up by its ident among enabled RBAC users. A
// DB-less node has no RBAC users: every token is refused.
func (d *daemon) validToken(ctx context.Context, token string) bool {
	if d.pool == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok := false
	_ = d.pool.with(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT user_token FROM rbac_users WHERE enabled AND (user_token_ident = $1 OR user_token_ident IS NULL)`, tokenIdent(token))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var stored string
			if rows.Scan(&stored) == nil && subtle.ConstantTimeCompare([]byte(stored), []byte(token)) == 1 {
				ok = true
			}
		}
		return rows.Err()
	})
	return ok
}

// seedSuperAdmin is what EE's enterprise/000_base does at bootstrap when
// KONG_PASSWORD is set (000_base.lua L17, L71-95): RBAC user kong_admin
// whose user_token is the password (in clear: Kong re-hashes it on first
// use, which the simulator does not model), its default role kong_admin,
// links to the roles super-admin and kong_admin, and an admins row.
func seedSuperAdmin(ctx context.Context, conn *pgx.Conn, password string) error {
	const q = `
WITH u AS (
  INSERT INTO rbac_users (id, name, user_token, user_token_ident, comment, enabled, created_at, ws_id)
  VALUES (gen_random_uuid(), 'kong_admin', $1, $2, 'Initial RBAC Secure User', true, now(), $3)
  ON CONFLICT (name) DO NOTHING RETURNING id),
r AS (
  INSERT INTO rbac_roles (id, name, comment, is_default, created_at, ws_id)
  VALUES (gen_random_uuid(), 'kong_admin', 'Default user role generated for kong_admin', true, now(), $3)
  ON CONFLICT (name) DO NOTHING RETURNING id),
ur AS (
  INSERT INTO rbac_user_roles (user_id, role_id)
  SELECT u.id, r.id FROM u, r
  UNION ALL SELECT u.id, s.id FROM u, rbac_roles s WHERE s.name = 'super-admin')
INSERT INTO admins (id, username, rbac_user_id, rbac_token_enabled, status, created_at)
SELECT gen_random_uuid(), 'kong_admin', u.id, true, 0, now() FROM u`
	if _, err := conn.Exec(ctx, q, password, tokenIdent(password), DefaultWorkspaceID); err != nil {
		return fmt.Errorf("[PostgreSQL error] seed the super admin: %s", pgErrText(err))
	}
	return nil
}
