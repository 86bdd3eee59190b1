package agent

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

const testToken = "tok-9f8e7d6c5b4a"

// rbacServer answers like an Enterprise Admin API with RBAC enforced on
// header: 401 without the token, the body echoing what it got otherwise.
func rbacServer(t *testing.T, header string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != testToken {
			w.WriteHeader(401)
			w.Write([]byte(`{"message":"Invalid RBAC credentials"}`))
			return
		}
		w.Write([]byte(`{"version":"3.10.0.2-enterprise-edition","edition":"enterprise","echo":"` + r.Header.Get(header) + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// http.get sends the token in Kong-Admin-Token (or the header named), and
// the token never comes back in the reply, even when the server echoes it.
func TestHTTPGetAdminToken(t *testing.T) {
	a := testAgent(t)
	srv := rbacServer(t, "Kong-Admin-Token")
	if res, rep := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: srv.URL + "/metrics"}); res == nil || res.Status != 401 {
		t.Fatalf("without a token: %+v %+v", res, rep.Error)
	}
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpHTTPGet, agentproto.HTTPGetParams{URL: srv.URL + "/metrics", AdminToken: testToken}))
	res, err := agentproto.DecodeResult[agentproto.HTTPGetResult](rep)
	if err != nil || res.Status != 200 {
		t.Fatalf("with the token: %+v %v", res, err)
	}
	if strings.Contains(raw, testToken) || !strings.Contains(res.Body, agentproto.Redacted) {
		t.Errorf("the token came back in the reply: %s", raw)
	}
	custom := rbacServer(t, "X-Admin")
	if res, _ := httpGetRPC(t, a, agentproto.HTTPGetParams{URL: custom.URL + "/", AdminToken: testToken, TokenHeader: "X-Admin"}); res == nil || res.Status != 200 {
		t.Errorf("rbac_auth_header X-Admin: %+v", res)
	}
}

// fakeKong writes a kong that answers `kong version` and `kong health`.
func fakeKong(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "kong")
	script := "#!/bin/sh\ncase $1 in version) echo 'Kong Enterprise 3.10.0.2';; esac\nexit 0\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// health: the Admin API probe carries the token (in the node's
// rbac_auth_header) and reads the version; where a Status API is given it
// alone decides health, so a rejected token leaves the node healthy but
// without a version, and without a Status API the 401 makes it unhealthy.
func TestHealthAdminToken(t *testing.T) {
	a := testAgent(t)
	bin := fakeKong(t)
	conf := filepath.Join(t.TempDir(), "kong.conf")
	os.WriteFile(conf, []byte("rbac_auth_header = X-Admin\nenforce_rbac = on\n"), 0o600)
	admin := rbacServer(t, "X-Admin")
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Admin") != "" {
			t.Errorf("the token went to the Status API")
		}
		w.Write([]byte(`{"database":{"reachable":true}}`))
	}))
	defer status.Close()

	p := agentproto.HealthParams{KongBin: bin, Conf: conf, AdminURL: admin.URL + "/", StatusURL: status.URL + "/status", AdminToken: testToken}
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpHealth, p))
	h, err := agentproto.DecodeResult[agentproto.HealthResult](rep)
	if err != nil || !h.Healthy || h.Version != "3.10.0.2-enterprise-edition" || h.Admin.Status != 200 {
		t.Fatalf("with the token: %+v %v %+v", h, err, rep.Error)
	}
	if strings.Contains(raw, testToken) {
		t.Errorf("the token came back in the reply: %s", raw)
	}

	p.AdminToken = "wrong"
	h2, _ := healthRPC(t, a, p)
	if h2 == nil || !h2.Healthy || h2.Version != "" || h2.Admin.Status != 401 {
		t.Errorf("wrong token, Status API up: %+v", h2)
	}

	p.StatusURL = ""
	if _, rep := healthRPC(t, a, p); rep.Error == nil || rep.Error.Code != agentproto.CodeUnhealthy {
		t.Errorf("wrong token, no Status API: want unhealthy, got %+v", rep.Error)
	}
}

func healthRPC(t *testing.T, a *Agent, p agentproto.HealthParams) (*agentproto.HealthResult, *agentproto.Reply) {
	t.Helper()
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpHealth, p))
	h, err := agentproto.DecodeResult[agentproto.HealthResult](rep)
	if err != nil {
		return nil, rep
	}
	return &h, rep
}
