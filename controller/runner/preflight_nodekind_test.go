package runner

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testAdminToken = "kong-admin-tok-5e1f"

func withToken(s *Spec) *Spec {
	s.AdminToken = func() ([]byte, error) { return []byte(testAdminToken), nil }
	return s
}

// preflightRefused runs an upgrade on c and returns the finding code's
// entry, failing unless the run failed before any stop.
func preflightRefused(t *testing.T, c *fakeCluster, spec *Spec, code string) *Finding {
	t.Helper()
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	found := findingOf(r, code)
	if r.Outcome != Failed || found == nil || found.Severity != SevError {
		t.Fatalf("outcome %s, finding %q: %+v", r.Outcome, code, found)
	}
	if countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
		t.Error("a node was stopped")
	}
	return found
}

// A token the Admin API refuses (401/403) is refused before any stop,
// naming the host; so is an RBAC-enforcing node when the inventory has no
// token at all (kong-reference 9.1).
func TestPreflightRefusesRejectedAdminToken(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-2"].adminAPI = 401
	f := preflightRefused(t, c, withToken(testSpec(t)), "admin-token")
	if f.Host != "kong-2" || !strings.Contains(f.Message, "refused kongctl's admin token (HTTP 401)") {
		t.Errorf("%+v", f)
	}

	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-3"].adminAPI = 403
	c.nodes["kong-3"].conf = map[string]string{"database": "postgres", "enforce_rbac": "on"}
	f = preflightRefused(t, c, testSpec(t), "admin-token")
	if f.Host != "kong-3" || !strings.Contains(f.Message, "requires an RBAC token (HTTP 403, enforce_rbac = on) and the inventory names none") {
		t.Errorf("%+v", f)
	}

	// An accepted token passes.
	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	for _, n := range c.nodes {
		n.adminAPI = 200
	}
	r, err := upgrade(context.Background(), withToken(testSpec(t)), testConfig(c))
	if err != nil || r.Outcome != Succeeded || findingOf(r, "admin-token") != nil {
		t.Fatalf("accepted token: %v %s %+v", err, r.Outcome, findingOf(r, "admin-token"))
	}
}

// A reference that does not resolve is a preflight error.
func TestPreflightAdminTokenUnresolved(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	s := testSpec(t, "kong-1", "kong-2")
	s.AdminToken = func() ([]byte, error) {
		return nil, errors.New("admin token: read secret from environment variable KONG_ADMIN_TOKEN: not set")
	}
	f := preflightRefused(t, c, s, "admin-token")
	if !strings.Contains(f.Message, "KONG_ADMIN_TOKEN: not set") {
		t.Errorf("%+v", f)
	}
}

// The token never reaches the report, even from an error that carries it.
func TestAdminTokenRedacted(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if call == "kong-2 facts" {
			return errors.New("GET / with Kong-Admin-Token: " + testAdminToken + ": refused")
		}
		return nil
	}
	r, err := upgrade(context.Background(), withToken(testSpec(t, "kong-1", "kong-2")), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(r)
	if strings.Contains(string(out), testAdminToken) || !strings.Contains(string(out), redacted) {
		t.Errorf("report: %s", out)
	}
}

func TestPreflightRefusesDBLessAndKonnect(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.nodes["kong-2"].conf = map[string]string{"database": "off"}
	f := preflightRefused(t, c, testSpec(t, "kong-1", "kong-2"), "db-less")
	if f.Host != "kong-2" || !strings.Contains(f.Message, "DB-less (database = off)") {
		t.Errorf("%+v", f)
	}
	for _, conf := range []map[string]string{
		{"database": "postgres", "konnect_mode": "on"},
		{"database": "off", "cluster_control_plane": "example.cp.khcp.konghq.com:443"},
	} {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
		c.nodes["kong-1"].conf = conf
		f := preflightRefused(t, c, testSpec(t, "kong-1", "kong-2"), "konnect")
		if f.Host != "kong-1" || !strings.Contains(f.Message, "Konnect data plane") {
			t.Errorf("%v: %+v", conf, f)
		}
	}
}

func TestKonnectManaged(t *testing.T) {
	for v, want := range map[string]bool{
		"example.cp.khcp.konghq.com:443": true,
		"abc.us.cp.konghq.com:443":       true,
		"us.svc.konghq.com/cp/abc":       true,
		"prefix.cp.konghq.com":           true,
		"KONGHQ.COM:443":                 true,
		"cp.internal:8005":               false,
		"notkonghq.com:443":              false,
		"konghq.com.evil.test:443":       false,
		"":                               false,
	} {
		if _, got := konnectManaged(map[string]string{"cluster_control_plane": v}); got != want {
			t.Errorf("cluster_control_plane %q: %v, want %v", v, got, want)
		}
	}
	if _, got := konnectManaged(map[string]string{"konnect_mode": "off", "cluster_control_plane": "127.0.0.1:8005"}); got {
		t.Error("a self-hosted DP is not Konnect")
	}
}
