//go:build integration

package kongsim_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Enterprise RBAC on the Admin API, each behaviour from kong-reference 9.1.

// getWith GETs url with the given headers (name, value pairs).
func getWith(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const invalidRBAC = `{"message":"Invalid RBAC credentials"}`

func TestRBAC(t *testing.T) {
	const ee, pw = "3.4.3.5", "s3cret-Super-Admin"
	t.Run("9.1/bootstrap with KONG_PASSWORD seeds kong_admin (000_base L71-95)", func(t *testing.T) {
		n := newDBNode(t)
		n.env = append(n.env, "KONG_PASSWORD="+pw)
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		var token, ident string
		var enabled bool
		n.queryRow(`SELECT user_token, user_token_ident, enabled FROM rbac_users WHERE name = 'kong_admin'`, &token, &ident, &enabled)
		// seeded in clear (Kong re-hashes on first use); ident = 5 hex of SHA-1
		if token != pw || len(ident) != 5 || !enabled {
			t.Fatalf("rbac_users: token %q ident %q enabled %v", token, ident, enabled)
		}
		var roles string
		n.queryRow(`SELECT string_agg(r.name, ',' ORDER BY r.name) FROM rbac_user_roles ur JOIN rbac_roles r ON r.id = ur.role_id JOIN rbac_users u ON u.id = ur.user_id WHERE u.name = 'kong_admin'`, &roles)
		if roles != "kong_admin,super-admin" {
			t.Fatalf("roles %q", roles)
		}
		var admins int
		n.queryRow(`SELECT count(*) FROM admins a JOIN rbac_users u ON u.id = a.rbac_user_id WHERE a.username = 'kong_admin'`, &admins)
		if admins != 1 {
			t.Fatalf("admins %d", admins)
		}
	})
	t.Run("9.1/bootstrap without KONG_PASSWORD: only the default roles", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		var users int
		var roles string
		n.queryRow(`SELECT count(*) FROM rbac_users`, &users)
		n.queryRow(`SELECT string_agg(name, ',' ORDER BY name) FROM rbac_roles`, &roles)
		if users != 0 || roles != "admin,read-only,super-admin" {
			t.Fatalf("users %d roles %q", users, roles)
		}
	})
	t.Run("9.1/enforce_rbac=on: 401 on every Admin API route without a valid token, Status API open", func(t *testing.T) {
		n := newDBNode(t, "enforce_rbac = on")
		n.env = append(n.env, "KONG_PASSWORD="+pw)
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		n.must(n.kong(ee, "start"), 0)
		defer n.run(sim(t, ee), "stop", "-p", n.prefix)
		admin := fmt.Sprintf("http://127.0.0.1:%d", n.admin)
		for _, p := range []string{"/", "/status", "/metrics", "/services", "/workspaces", "/no-such-route"} {
			if code, body := getWith(t, admin+p); code != 401 || strings.TrimSpace(body) != invalidRBAC {
				t.Errorf("GET %s without token: %d %s", p, code, body)
			}
			if code, body := getWith(t, admin+p, "Kong-Admin-Token", "wrong"); code != 401 || strings.TrimSpace(body) != invalidRBAC {
				t.Errorf("GET %s wrong token: %d %s", p, code, body)
			}
		}
		for _, p := range []string{"/", "/status", "/metrics", "/services"} {
			if code, body := getWith(t, admin+p, "Kong-Admin-Token", pw); code != 200 {
				t.Errorf("GET %s with the super admin's token: %d %s", p, code, body)
			}
		}
		// exempt paths (rbac/init.lua L48-55) are not refused for the token
		if code, _ := getWith(t, admin+"/auth"); code == 401 {
			t.Errorf("/auth needs a token")
		}
		status := fmt.Sprintf("http://127.0.0.1:%d", n.status)
		for _, p := range []string{"/status", "/metrics"} {
			if code, body := getWith(t, status+p); code != 200 {
				t.Errorf("Status API %s: %d %s", p, code, body)
			}
		}
	})
	t.Run("9.1/entity mode still rejects unauthenticated callers; rbac_auth_header names the header", func(t *testing.T) {
		n := newDBNode(t, "enforce_rbac = entity", "rbac_auth_header = X-Admin")
		n.env = append(n.env, "KONG_PASSWORD="+pw)
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		n.must(n.kong(ee, "start"), 0)
		defer n.run(sim(t, ee), "stop", "-p", n.prefix)
		root := fmt.Sprintf("http://127.0.0.1:%d/", n.admin)
		if code, body := getWith(t, root, "Kong-Admin-Token", pw); code != 401 || strings.TrimSpace(body) != invalidRBAC {
			t.Errorf("default header under rbac_auth_header = X-Admin: %d %s", code, body)
		}
		if code, body := getWith(t, root, "X-Admin", pw); code != 200 {
			t.Errorf("X-Admin: %d %s", code, body)
		}
	})
	t.Run("9.1/admin_gui_auth set: no token and no Kong-Admin-User gets the credentials body (api_helpers L114)", func(t *testing.T) {
		n := newDBNode(t, "enforce_rbac = both", "admin_gui_auth = basic-auth")
		n.must(n.kong(ee, "migrations", "bootstrap"), 0)
		n.must(n.kong(ee, "start"), 0)
		defer n.run(sim(t, ee), "stop", "-p", n.prefix)
		code, body := getWith(t, fmt.Sprintf("http://127.0.0.1:%d/", n.admin))
		body = strings.TrimSpace(body)
		if code != 401 || body != `{"message":"Invalid credentials. Token or User credentials required"}` || len(body) != 69 {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("9.1/kong check: the enforce_rbac enum and admin_gui_auth without RBAC (conf_loader L55, L356-359)", func(t *testing.T) {
		n := newDBNode(t, "enforce_rbac = maybe")
		if r := n.run(sim(t, ee), "check", n.conf); r.code != 1 || !strings.Contains(r.stderr, "enforce_rbac has an invalid value: 'maybe' (on, off, both, entity)") {
			t.Errorf("%s", r)
		}
		n = newDBNode(t, "admin_gui_auth = basic-auth")
		if r := n.run(sim(t, ee), "check", n.conf); r.code != 1 || !strings.Contains(r.stderr, "enforce_rbac must be enabled when admin_gui_auth is enabled") {
			t.Errorf("%s", r)
		}
	})
	t.Run("9.1/RBAC is Enterprise only: OSS serves GET / with enforce_rbac = on", func(t *testing.T) {
		n := newDBNode(t, "enforce_rbac = on")
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "start"), 0)
		defer n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix)
		if code, body := getWith(t, fmt.Sprintf("http://127.0.0.1:%d/", n.admin)); code != 200 {
			t.Errorf("%d %s", code, body)
		}
	})
}
