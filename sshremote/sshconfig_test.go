package sshremote

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestApplySSHConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	file := writeFile(t, `
Host kong-*
  User kong
  IdentityFile ~/.ssh/id_kong
  UserKnownHostsFile /etc/kongctl/known_hosts %d/.ssh/kh2
  ProxyJump admin@bastion1:2222,bastion2
  ServerAliveInterval 15
Host kong-1
  HostName 198.18.0.11
  Port 2200
  User ignored-first-match-wins
Host bastion1
  HostName 198.18.0.1
  IdentityFile /keys/bastion
Host bastion2
  HostName 198.18.0.2
  User jump
Host *
  ConnectTimeout 7
  StrictHostKeyChecking accept-new
`)
	cfg := &Config{Name: "kong-1", UseAgent: true}
	if err := ApplySSHConfig(cfg, file); err != nil {
		t.Fatal(err)
	}
	idKong := filepath.Join(home, ".ssh", "id_kong")
	kh := []string{"/etc/kongctl/known_hosts", filepath.Join(home, ".ssh", "kh2")}
	if cfg.Address != "198.18.0.11" || cfg.Port != 2200 || cfg.User != "kong" ||
		!slices.Equal(cfg.KeyFiles, []string{idKong}) || !slices.Equal(cfg.KnownHostsFiles, kh) ||
		cfg.Keepalive != 15*time.Second || cfg.ConnectTimeout != 7*time.Second || cfg.HostKeyPolicy != HostKeyAcceptNew {
		t.Errorf("cfg = %+v", cfg)
	}
	if len(cfg.Jump) != 2 {
		t.Fatalf("jump = %v", cfg.Jump)
	}
	j1, j2 := cfg.Jump[0], cfg.Jump[1]
	if j1.Name != "bastion1" || j1.Address != "198.18.0.1" || j1.Port != 2222 || j1.User != "admin" || !slices.Equal(j1.KeyFiles, []string{"/keys/bastion"}) || !j1.UseAgent {
		t.Errorf("jump 1 = %+v", j1)
	}
	if j2.Address != "198.18.0.2" || j2.Port != 0 || j2.User != "jump" || !slices.Equal(j2.KeyFiles, []string{idKong}) || !slices.Equal(j2.KnownHostsFiles, kh) || j2.ConnectTimeout != 7*time.Second {
		t.Errorf("jump 2 = %+v", j2)
	}

	// Fields already set win; an address that is not an alias is kept.
	cfg = &Config{Name: "kong-1", Address: "10.0.0.5", User: "ops", Port: 22, Jump: []*Config{{Name: "b", Address: "b"}}}
	if err := ApplySSHConfig(cfg, file); err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "10.0.0.5" || cfg.User != "ops" || cfg.Port != 22 || len(cfg.Jump) != 1 {
		t.Errorf("set fields overwritten: %+v", cfg)
	}

	// A missing file is fine.
	if err := ApplySSHConfig(&Config{Name: "x"}, filepath.Join(home, "nope")); err != nil {
		t.Error(err)
	}
	if _, err := parseJump("u@h:notaport"); err == nil {
		t.Error("bad ProxyJump port accepted")
	}
}
