//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 16, Enterprise keyring: an Enterprise 3.4.3.5 fleet with RBAC
// enforced and the keyring on (KEYRING=1: keyring_strategy = cluster, the
// keys only in the running nodes' memory) holds an http-log plugin whose
// http_endpoint is encrypted at rest. Without keyring_public_key no export
// is possible: the upgrade is refused in preflight, naming the node and
// the property, before any stop. Then a forced rollback (a failing gate)
// puts X back with the field readable, and the upgrade to 3.10.0.2 keeps
// it readable: kongctl exported the keyring before the stop and imported
// it after each start.
func TestUpgradeEnterpriseKeyring(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", RBAC: true, Keyring: true})
	nodes := names(e.lab.KongHosts())
	token, err := e.lab.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	// Every node holds the one key the first node bootstrapped.
	active := e.clusterKey(nodes, token)
	const endpoint = "http://logs.internal:9000/keyring-e2e"
	code, body := adminPostToken(e.lab.Address(nodes[0]), "/plugins", token, `{"name":"http-log","config":{"http_endpoint":"`+endpoint+`"}}`)
	var plugin struct{ ID string }
	if code != 201 || json.Unmarshal([]byte(body), &plugin) != nil {
		t.Fatalf("create http-log: %d %s", code, body)
	}
	readable := func(when string) {
		t.Helper()
		for _, h := range nodes {
			if code, body := adminGet(e.lab.Address(h), "/plugins/"+plugin.ID, token); code != 200 || !strings.Contains(body, endpoint) {
				t.Errorf("%s: %s: GET /plugins/%s: %d %s", when, h, plugin.ID, code, body)
			}
			if code, body := adminGet(e.lab.Address(h), "/keyring", token); code != 200 || !strings.Contains(body, `"active":"`+active+`"`) {
				t.Errorf("%s: %s: GET /keyring: %d %s", when, h, code, body)
			}
		}
	}
	readable("before the upgrade")

	// No keyring_public_key: no export possible, refused before any stop.
	pids := e.kongPIDs(nodes)
	for _, h := range nodes {
		e.nodeExec(h, `sed -i '/^keyring_public_key/d' /etc/kong/kong.conf`)
	}
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	for _, h := range nodes {
		e.nodeExec(h, `echo "keyring_public_key = /etc/kong/keyring/cert.pem" >> /etc/kong/kong.conf`)
	}
	if r.code != 1 {
		t.Fatalf("upgrade without keyring_public_key: want exit 1 (refused in preflight): %s", r)
	}
	msg, ok := finalReport(t, r.stdout).finding("keyring-export")
	if !ok || !strings.Contains(msg, "keyring_public_key is not set on "+nodes[0]) || strings.Contains(msg, "\n") {
		t.Errorf("refusal %q: want one line naming %s and keyring_public_key", msg, nodes[0])
	}
	if got := e.kongPIDs(nodes); !equalMaps(pids, got) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, got)
	}

	// A forced rollback: Y answers 500 on the proxy, the max_5xx gate fails.
	gated := func(s string) string {
		s = strings.Replace(s, "  smoke {\n    path   = \"/lab\"\n    host   = \"\"\n    status = 200\n  }\n", "", 1)
		return strings.Replace(s, "max_error_rate = 0.01", "max_error_rate = 0.5\n    max_5xx        = 3\n    min_requests   = 10", 1)
	}
	e.inv = e.writeInventory(gated)
	e.writeFault(nodes[0], "FAKE_KONG_START_5XX=1")
	rep := e.upgradeRolledBackByGate(nodes)
	e.requireVersion("3.4.3.5", nodes...)
	readable("after the rollback")
	export := filepath.Join(filepath.Dir(rep.Backup.LocalPath), "kong-"+rep.RunID+"-keyring.json")
	if fi, err := os.Stat(export); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring export beside the backup: %v %v", fi, err)
	}

	// The upgrade: Y imports the keyring, the field stays readable.
	e.inv = e.writeInventory(nil)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.10.0.2", nodes...)
	readable("after the upgrade")
	rep = finalReport(t, r.stdout)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(rep.Backup.LocalPath), "kong-"+rep.RunID+"-keyring.json"))
	var ex struct{ Data string }
	if err != nil || json.Unmarshal(b, &ex) != nil || len(ex.Data) < 32 {
		t.Fatalf("the run's keyring export: %v %q", err, b)
	}
	if strings.Contains(r.stdout+r.stderr, ex.Data[:32]) {
		t.Error("the keyring export appears in kongctl's output")
	}
	e.requireServing(nodes, []route{{"/lab", ""}})
}

// clusterKey waits until every one of hosts holds the same active
// keyring key (GET /keyring) and returns its id.
func (e *env) clusterKey(hosts []string, token string) string {
	e.t.Helper()
	active := ""
	for _, h := range hosts {
		eventually(e.t, h+" has the cluster's key", func() (bool, string) {
			code, body := adminGet(e.lab.Address(h), "/keyring", token)
			var k struct{ Active string }
			_ = json.Unmarshal([]byte(body), &k)
			if active == "" {
				active = k.Active
			}
			return code == 200 && k.Active != "" && k.Active == active, fmt.Sprintf("%d %s", code, body)
		})
	}
	return active
}

// adminPostToken POSTs a JSON body to a node's Admin API with the token.
func adminPostToken(addr, path, token, body string) (int, string) {
	return adminRequest("POST", addr, path, token, body)
}

// adminRequest sends one request to a node's Admin API (port 8001), a
// JSON body when body is set, a Kong-Admin-Token when token is.
func adminRequest(method, addr, path, token, body string) (int, string) {
	req, _ := http.NewRequest(method, fmt.Sprintf("http://%s:8001%s", addr, path), strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Kong-Admin-Token", token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// nodeExec runs a shell command on a node, failing the test on error.
func (e *env) nodeExec(host, cmd string) {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.Exec(ctx, host, cmd); err != nil {
		e.t.Fatalf("%s: %s: %v: %s", host, cmd, err, out)
	}
}

// eventually retries f for up to 30s (the cluster's keyring events are
// polled every db_update_frequency, 5 s).
func eventually(t *testing.T, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last: %s", what, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
