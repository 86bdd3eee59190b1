package sshfleet

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/internal/settingstest"
	"github.com/kongctl/kongctl/sshremote"
)

// adapterWorld is what the connector made of an inventory: the SSH
// configurations of k1 and k2, the node adapter of k1 and the database
// connection.
type adapterWorld struct {
	settingstest.World
	k1, k2 *sshremote.Config
	node   *agentNode
	lb     *haproxyLB
	dbConn agentproto.DBConn
}

func adapterOf(t *testing.T, w settingstest.World) adapterWorld {
	t.Helper()
	a := adapterWorld{World: w}
	var err error
	if a.k1, err = SSHConfig(w.Inv, w.Inv.Host("k1")); err != nil {
		t.Fatal(err)
	}
	if a.k2, err = SSHConfig(w.Inv, w.Inv.Host("k2")); err != nil {
		t.Fatal(err)
	}
	conn, err := NewConnector(w.Inv)
	if err != nil {
		t.Fatal(err)
	}
	sc := conn.(*sshConnector)
	if a.dbConn, err = sc.dbConn(); err != nil {
		t.Fatal(err)
	}
	sc.hosts["k1"] = &agentHost{name: "k1"} // no SSH: the node's settings only
	n, err := sc.Node(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	a.node = n.(*agentNode)
	sc.hosts["db9"] = &agentHost{name: "db9"}
	lb, err := sc.LoadBalancer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.lb = lb.(*haproxyLB)
	return a
}

// The attributes of settingstest.AdapterAttributes come out in the SSH
// configurations, the node adapter and the database connection (the
// runner's TestEveryInventoryAttributeReachesTheCode covers the others).
func TestAdapterAttributesReachTheConnector(t *testing.T) {
	a := adapterOf(t, settingstest.Load(t, settingstest.HCL))
	b := adapterOf(t, settingstest.Load(t, settingstest.AltHCL(t)))
	checks := map[string]bool{
		"database.ca_file":              a.dbConn.CACert == a.CAPEM,
		"host.address":                  a.k1.Address == "k1.fra9.example",
		"host.port":                     a.k1.Port == 2299,
		"host.user":                     a.k1.User == "admin9",
		"host.host_key":                 slices.Equal(a.k1.PinnedKeys, []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}),
		"host.ssh.user":                 a.k2.User == "sshuser8",
		"host.ssh.private_keys":         len(a.k2.KeyFiles) == 1 && strings.HasSuffix(a.k2.KeyFiles[0], "id_eight"),
		"host.ssh.use_agent":            a.k1.UseAgent && !a.k2.UseAgent,
		"host.ssh.known_hosts":          len(a.k2.KnownHostsFiles) == 1 && strings.HasSuffix(a.k2.KnownHostsFiles[0], "kh_eight"),
		"host.ssh.host_key_policy":      a.k2.HostKeyPolicy == sshremote.HostKeyStrict,
		"host.ssh.jump":                 len(a.k1.Jump) == 1 && len(a.k2.Jump) == 0,
		"host.ssh.ssh_config":           strings.HasSuffix(a.k1.SSHConfigFile, "ssh_config9") && a.k2.SSHConfigFile == "",
		"host.ssh.connect_timeout":      a.k2.ConnectTimeout == 17*time.Second,
		"host.ssh.keepalive":            a.k2.Keepalive == 27*time.Second,
		"host.ssh.connect_retries":      a.k2.ConnectRetries == 5,
		"host.ssh.become.method":        a.k2.Become != nil && a.k2.Become.Method == "sudo",
		"host.ssh.become.user":          a.k2.Become != nil && a.k2.Become.User == "root8",
		"host.ssh.become.password_file": a.k2.Become != nil && string(a.k2.Become.Password) == "bpw8",
		"host.ssh.become.password_env":  a.k1.Become != nil && string(a.k1.Become.Password) == "bpw9", // inherited from ssh
		"ssh.user":                      a.k1.Jump[0].User == "deployer9",
		"ssh.private_keys":              len(a.k1.KeyFiles) == 1 && strings.HasSuffix(a.k1.KeyFiles[0], "id_nine"),
		"ssh.use_agent":                 a.k1.UseAgent,
		"ssh.known_hosts":               len(a.k1.KnownHostsFiles) == 1 && strings.HasSuffix(a.k1.KnownHostsFiles[0], "kh_nine"),
		"ssh.host_key_policy":           a.k1.HostKeyPolicy == sshremote.HostKeyAcceptNew,
		"ssh.jump":                      len(a.k1.Jump) == 1 && a.k1.Jump[0].Address == "10.9.0.1",
		"ssh.ssh_config":                strings.HasSuffix(a.k1.SSHConfigFile, "ssh_config9"),
		"ssh.connect_timeout":           a.k1.ConnectTimeout == 19*time.Second,
		"ssh.keepalive":                 a.k1.Keepalive == 29*time.Second,
		"ssh.connect_retries":           a.k1.ConnectRetries == 7,
		"ssh.become.method":             a.k1.Become != nil && a.k1.Become.Method == "sudo" && b.k1.Become == nil,
		"ssh.become.user":               a.k1.Become != nil && a.k1.Become.User == "root9",
		"ssh.become.password_env":       a.k1.Become != nil && string(a.k1.Become.Password) == "bpw9",
		"ssh.become.password_file":      a.k2.Become != nil && string(a.k2.Become.Password) == "bpw8", // the same decoder as host.ssh's
		"upgrade.kong_conf":             a.node.conf == "/etc/kong9/kong.conf",
		"load_balancer.socket":          a.lb.socket == "/run/hap9.sock" && a.lb.backend == "be9",
		"upgrade.prefix":                a.node.prefix == "/opt/kong9",
		"upgrade.service_manager":       a.node.manager == agentproto.ManagerSystemd && b.node.manager == agentproto.ManagerKongCLI,
		"upgrade.service_env_file":      b.node.envFile == "/etc/kong9/env",
		"variable.default":              a.k1.Address == "k1.fra9.example",
	}
	var names []string
	for attr, ok := range checks {
		names = append(names, attr)
		if !ok {
			t.Errorf("%s: the value set in the inventory does not come out in the connector", attr)
		}
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(settingstest.AdapterAttributes))
	if !slices.Equal(names, want) {
		t.Errorf("checked %v, settingstest.AdapterAttributes says %v", names, want)
	}
}
