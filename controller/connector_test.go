package controller

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/sshremote"
	"github.com/kongctl/kongctl/inventory"
)

func loadExample(t *testing.T, name string) *inventory.Inventory {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "hcl", "examples", name)
	inv, diags := inventory.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", name, diags.Error())
	}
	return inv
}

func TestSSHConfigFromInventory(t *testing.T) {
	t.Setenv("KONGCTL_BECOME_PASSWORD", "sudo-secret")
	inv := loadExample(t, "production.hcl")
	cfg, err := SSHConfig(inv, inv.Host("kong-b1"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "kong-b1" || cfg.Address != "10.20.2.11" || cfg.Port != 2222 || cfg.User != "deploy" {
		t.Errorf("endpoint %s %s:%d user %s", cfg.Name, cfg.Address, cfg.Port, cfg.User)
	}
	if cfg.HostKeyPolicy != sshremote.HostKeyStrict || len(cfg.KnownHostsFiles) != 1 || !filepath.IsAbs(cfg.KnownHostsFiles[0]) {
		t.Errorf("host keys: %q %q", cfg.HostKeyPolicy, cfg.KnownHostsFiles)
	}
	if cfg.Become == nil || string(cfg.Become.Password) != "sudo-secret" || cfg.Become.User != "root" {
		t.Errorf("become %+v", cfg.Become)
	}
	if len(cfg.Jump) != 1 {
		t.Fatalf("jump chain %d hops", len(cfg.Jump))
	}
	j := cfg.Jump[0]
	if j.Name != "bastion-1" || j.User != "jump" || len(j.PinnedKeys) != 1 || !strings.HasPrefix(j.PinnedKeys[0], "ssh-ed25519 ") || len(j.Jump) != 0 {
		t.Errorf("bastion hop %+v", j)
	}
	if cfg.ConnectTimeout.Seconds() != 15 || cfg.Keepalive.Seconds() != 30 {
		t.Errorf("timeouts %s %s", cfg.ConnectTimeout, cfg.Keepalive)
	}
}

func TestSpecFromInventory(t *testing.T) {
	inv := loadExample(t, "production.hcl")
	s, err := SpecFromInventory(inv, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Nodes, []string{"kong-a1", "kong-a2", "kong-b1"}) && len(inv.Upgrade.Order) == 0 {
		t.Errorf("nodes %v", s.Nodes)
	}
	if s.ToolsHost != "pg-1" || s.To == "" || s.StateDir != filepath.Join(inv.Dir, ".kongctl") || s.DB.Password == nil {
		t.Errorf("spec %+v", s)
	}
	// production.hcl: kong { admin_token_env = "KONG_ADMIN_TOKEN" }.
	t.Setenv("KONG_ADMIN_TOKEN", "tok-from-env")
	if tok, err := s.AdminToken(); s.AdminToken == nil || err != nil || string(tok) != "tok-from-env" {
		t.Errorf("spec admin token: %q %v", tok, err)
	}
	if n := (&agentNode{token: "tok-from-env"}); n.svc(0).AdminToken != "tok-from-env" {
		t.Error("service start/stop params lack the admin token")
	}
	if _, err := SpecFromInventory(inv, "edge", true); err == nil || !strings.Contains(err.Error(), "kong-b1") {
		t.Errorf("a limit leaving out nodes sharing the database must be refused for an upgrade: %v", err)
	}
	if _, err := SpecFromInventory(inv, "edge", false); err != nil {
		t.Errorf("status with a limit: %v", err)
	}
}

// reconnect swaps the connection while other goroutines (the fleet-lock
// heartbeat on the tools host) use the host: they see either the old or
// the new client, never a torn pair (run with -race).
func TestAgentHostReconnectSwapsUnderLock(t *testing.T) {
	first, second := &agentclient.Client{}, &agentclient.Client{}
	ah := &agentHost{name: "db", ac: first}
	ah.redial = func(ctx context.Context) (*sshremote.Client, *agentclient.Client, error) {
		return nil, second, nil
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c := ah.client(); c != first && c != second {
					t.Error("torn client")
					return
				}
				_ = ah.conn()
			}
		}()
	}
	if err := ah.reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if ah.client() != second {
		t.Error("reconnect did not install the new client")
	}
}
