package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/inventory"
)

// labInventory copies hcl/examples/lab.hcl into a temp dir with a password
// file and package files, as the lab lays them out.
func labInventory(t *testing.T, password string) *inventory.Inventory {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "hcl", "examples", "lab.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "lab")
	os.MkdirAll(filepath.Join(root, "packages"), 0o755)
	os.MkdirAll(dir, 0o755)
	for _, v := range []string{"2.8.4", "3.4.2"} {
		os.WriteFile(filepath.Join(root, "packages", "kong_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "pg_password"), []byte(password+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "id_ed25519"), []byte("not a key"), 0o600)
	os.WriteFile(filepath.Join(dir, "known_hosts"), nil, 0o600)
	path := filepath.Join(dir, "hosts.hcl")
	os.WriteFile(path, src, 0o644)
	inv, diags := inventory.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load lab inventory: %s", diags.Error())
	}
	return inv
}

func TestUpgradeEntryPointJSON(t *testing.T) {
	const pw = "lab-Secret-42"
	inv := labInventory(t, pw)
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	c.fail = func(call string) error {
		if call == "kong-3 start 3.4.2" {
			return &os.PathError{Op: "start", Path: "password=" + pw, Err: os.ErrPermission}
		}
		return nil
	}
	var out, errOut bytes.Buffer
	r, err := Upgrade(context.Background(), Options{Inventory: inv, InventoryPath: "hosts.hcl", Yes: true, Output: "json", Stdout: &out, Stderr: &errOut, Connector: c, clock: c.clk})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	if strings.Contains(out.String(), pw) || strings.Contains(errOut.String(), pw) {
		t.Fatalf("secret in output")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	types := map[progress.Type]int{}
	var last progress.Event
	for _, l := range lines {
		var ev struct {
			progress.Event
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("stdout line is not JSON: %q", l)
		}
		types[ev.Type]++
		last = ev.Event
	}
	if last.Type != progress.Report {
		t.Errorf("last line type %q, want report", last.Type)
	}
	for _, want := range []progress.Type{progress.RunStart, progress.PhaseStart, progress.PhaseEnd, progress.HostResult, progress.RunEnd} {
		if types[want] == 0 {
			t.Errorf("no %s event", want)
		}
	}
	if errOut.Len() != 0 {
		t.Errorf("json mode wrote to stderr: %q", errOut.String())
	}
	if r.Next != "" || r.Journal == "" || !strings.HasPrefix(r.Journal, filepath.Join(inv.Dir, ".kongctl", "runs")) {
		t.Errorf("journal %q", r.Journal)
	}

	st, err := Status(context.Background(), Options{Inventory: inv, Connector: c})
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRun == nil || st.LastRun.Status != "rolled-back" || st.Schema == nil || len(st.Hosts) != 3 || st.Hosts[1].Name != "kong-2" {
		t.Errorf("status: %+v", st)
	}
}

func TestUpgradeNeedsConfirmation(t *testing.T) {
	inv := labInventory(t, "pw-123")
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	asked := ""
	r, err := Upgrade(context.Background(), Options{Inventory: inv, Connector: c, clock: c.clk, Confirm: func(p string) bool { asked = p; return false }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed || !strings.Contains(asked, "stop 3 node(s)") {
		t.Errorf("outcome %s, prompt %q", r.Outcome, asked)
	}
	for _, call := range c.Calls() {
		if strings.HasSuffix(call, " stop") || strings.HasPrefix(call, "lock acquire") {
			t.Errorf("changed the fleet without confirmation: %s", call)
		}
	}
}

func TestUnlock(t *testing.T) {
	inv := labInventory(t, "pw-123")
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	c.lock = &fleet.LockInfo{RunID: "dead-run", Owner: "x@y"}
	if err := Unlock(context.Background(), Options{Inventory: inv, Connector: c}, "other"); err == nil || c.lock == nil {
		t.Fatal("unlock of another run's lock must be refused")
	}
	if err := Unlock(context.Background(), Options{Inventory: inv, Connector: c}, "dead-run"); err != nil || c.lock != nil {
		t.Fatalf("unlock: %v, lock %+v", err, c.lock)
	}
}

// deliveringCluster is a fake connector that reports agent delivery, as
// the SSH connector does.
type deliveringCluster struct {
	*fakeCluster
	d fleet.AgentDelivery
}

func (c deliveringCluster) AgentDelivery() fleet.AgentDelivery { return c.d }

// TestStatusReportsAgentDelivery: status says how many bytes delivering
// the agent cost, so a second run visibly uploads nothing.
func TestStatusReportsAgentDelivery(t *testing.T) {
	inv := labInventory(t, "pw-123")
	for _, tc := range []struct {
		d    fleet.AgentDelivery
		want string
	}{
		{fleet.AgentDelivery{Hosts: 4, UploadedTo: 4, UploadedBytes: 44_000_000}, "agent: 44000000 bytes uploaded to 4 of 4 hosts"},
		{fleet.AgentDelivery{Hosts: 4}, "agent: 0 bytes uploaded to 0 of 4 hosts"},
	} {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
		st, err := Status(context.Background(), Options{Inventory: inv, Connector: deliveringCluster{c, tc.d}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Agent == nil || *st.Agent != tc.d {
			t.Errorf("status does not report the agent delivery %+v: %+v", tc.d, st.Agent)
		}
	}
}
