package sshfleet

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/internal/settingstest"

	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/sshremote"
)

func TestSSHConfigFromInventory(t *testing.T) {
	t.Setenv("KONGCTL_BECOME_PASSWORD", "sudo-secret")
	inv := settingstest.Example(t, "production.hcl")
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

// The removal command is built from a package name only when it is one.
// The tools host gets the agent with the database operations, every
// other host the lean node agent.
func TestAgentKindPerHost(t *testing.T) {
	c := &sshConnector{tools: "db"}
	if k := c.agentKind("db"); k != agentclient.KindTools {
		t.Errorf("tools host gets the %s agent", k)
	}
	if k := c.agentKind("kong-1"); k != agentclient.KindNode {
		t.Errorf("Kong node gets the %s agent", k)
	}
}

func TestRemoveCommand(t *testing.T) {
	if cmd, err := removeCommand(fleet.PackageRef{Name: "kong-enterprise-edition", Format: "rpm"}); err != nil || cmd != "rpm -e kong-enterprise-edition" {
		t.Errorf("%q %v", cmd, err)
	}
	if _, err := removeCommand(fleet.PackageRef{Name: "kong; rm -rf /"}); err == nil {
		t.Error("a package name with shell syntax")
	}
}

// A node whose disk is completely full reports 0 bytes free: that is a
// value, not "unknown" (fault matrix cell preflight/disk-full).
func TestMinDiskFreeFullDisk(t *testing.T) {
	tests := []struct {
		name string
		ds   []agentproto.DiskFree
		want int64
	}{
		{"none reported", nil, -1},
		{"all failed", []agentproto.DiskFree{{Path: "/x", Err: "no such file"}}, -1},
		{"full first", []agentproto.DiskFree{{Path: "/usr/local", FreeBytes: 0}, {Path: "/tmp", FreeBytes: 5 << 30}}, 0},
		{"full later", []agentproto.DiskFree{{Path: "/tmp", FreeBytes: 5 << 30}, {Path: "/usr/local", FreeBytes: 0}}, 0},
		{"least", []agentproto.DiskFree{{Path: "/a", FreeBytes: 3 << 30}, {Path: "/b", FreeBytes: 1 << 30}, {Path: "/c", Err: "x"}}, 1 << 30},
	}
	for _, tt := range tests {
		if got := minDiskFree(tt.ds); got != tt.want {
			t.Errorf("%s: minDiskFree = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestDBSettingsFromFacts(t *testing.T) {
	c := agentproto.KongConf{
		DB:            agentproto.DBSettings{Database: "postgres", Host: "198.18.7.2", Port: 5432, User: "kong", Name: "kong", Schema: "public"},
		HasPGPassword: true,
		DBSources: map[string]string{"database": "kong.conf /etc/kong/kong.conf", "pg_host": "environment (file /etc/kong/kong_env.conf)",
			"pg_port": "default", "pg_user": "kong.conf /etc/kong/kong.conf", "pg_database": "environment (file /etc/kong/kong_env.conf)",
			"pg_schema": "default", "pg_password": "environment (file /etc/kong/kong_env.conf)"},
	}
	got := dbSettings(c)
	if len(got) != 7 || got[1] != (fleet.ConfSetting{Key: "pg_host", Value: "198.18.7.2", Source: "environment (file /etc/kong/kong_env.conf)"}) || got[6].Value != "set" {
		t.Errorf("%+v", got)
	}
	c.HasPGPassword = false
	if got := dbSettings(c); got[6].Value != "not set" {
		t.Errorf("%+v", got[6])
	}
	if dbSettings(agentproto.KongConf{}) != nil {
		t.Error("an agent without sources gave settings")
	}
}

func TestServiceParamsCarryTheAdminToken(t *testing.T) {
	if n := (&agentNode{token: "tok-from-env"}); n.svc(0).AdminToken != "tok-from-env" {
		t.Error("service start/stop params lack the admin token")
	}
}

func TestParseKeyring(t *testing.T) {
	for body, want := range map[string]string{
		`{"ids":["b","a"],"active":"a"}`: "a,b/a",
		`{"ids":{}}`:                     "/", // cjson's empty table
		`{"ids":[]}`:                     "/",
	} {
		st, err := parseKeyring(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(st.IDs, ",") + "/" + st.Active; got != want {
			t.Errorf("%s: %s, want %s", body, got, want)
		}
	}
	if _, err := parseKeyring("<html>"); err == nil {
		t.Error("non-JSON accepted")
	}
}
