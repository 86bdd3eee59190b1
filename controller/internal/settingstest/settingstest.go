// Package settingstest holds the inventories the controller's tests load:
// the examples (Example) and the one that sets every attribute of the
// language to a value of its own (HCL), shared by the tests that show each
// attribute reaches the code: the runner's (the Spec) and the SSH
// connector's (SSH configurations, the node adapter, the database
// connection). Between them they must cover inventory.Attributes (Cover).
package settingstest

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kongctl/kongctl/inventory"
)

// HCL sets every attribute of the inventory language to a value
// of its own; Alt holds the alternatives that cannot stand in the
// same inventory (a password from a file or from the environment, one
// service manager or the other, new hosts or in place).
const HCL = `
variable "dc" {
  default     = "fra9"
  description = "the data centre"
}

ssh {
  user               = "deployer9"
  private_keys       = ["id_nine"]
  use_agent          = true
  known_hosts        = ["kh_nine"]
  host_key_policy    = "accept-new"
  jump               = ["bastion9"]
  ssh_config         = "ssh_config9"
  connect_timeout    = "19s"
  keepalive          = "29s"
  connect_retries    = 7
  concurrency        = 9
  upload_concurrency = 3
  become {
    method       = "sudo"
    user         = "root9"
    password_env = "KONGCTL_TEST_BECOME9"
  }
}

host "bastion9" {
  address = "10.9.0.1"
  roles   = ["bastion"]
}

host "db9" {
  address = "10.9.0.5"
  roles   = ["database"]
}

host "k1" {
  address  = "k1.${var.dc}.example"
  port     = 2299
  user     = "admin9"
  roles    = ["kong"]
  tags     = ["edge9"]
  lb_server = "k1srv9"
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
}

host "k2" {
  address = "10.9.1.2"
  roles   = ["kong"]
  ssh {
    user            = "sshuser8"
    private_keys    = ["id_eight"]
    use_agent       = false
    known_hosts     = ["kh_eight"]
    host_key_policy = "strict"
    jump            = []
    ssh_config      = ""
    connect_timeout = "17s"
    keepalive       = "27s"
    connect_retries = 5
    become {
      method        = "sudo"
      user          = "root8"
      password_file = "become_pw"
    }
  }
}

load_balancer "haproxy" {
  host          = "db9"
  backend       = "be9"
  socket        = "/run/hap9.sock"
  drain_timeout = "39s"
}

group "grp9" {
  hosts = ["k2", "k1"]
}

database {
  host          = "pg9.example"
  port          = 5439
  name          = "kong9"
  user          = "kong_user9"
  schema        = "s9"
  tls_mode      = "verify-full"
  password_file = "pg_pw"
  tools_host    = "db9"
  ca_file       = "ca9.pem"
}

upgrade {
  from            = "3.4.1"
  to              = "3.4.2"
  edition         = "oss"
  kong_conf       = "/etc/kong9/kong.conf"
  prefix          = "/opt/kong9"
  service_manager = "systemd"
  migration_host  = "k2"
  migrations_db_timeout   = "9m9s"
  migrations_lock_timeout = "19m9s"
  on_failure      = "pause"
  stop            = "sequential"
  finish          = "after-verify"
  data_planes     = "rolling"
  batch           = 9
  data_plane_timeout = "99s"
  order           = ["grp9"]
  package {
    source = "file"
    dir    = "pkgs9"
    plugin_packages = ["kong-plugin-nine"]
  }
}

hook "before_stop" {
  command           = "echo nine"
  on                = "grp9"
  timeout           = "39s"
  continue_on_error = true
  per_node          = true
}

verify {
  soak = "49s"
  health {
    timeout  = "59s"
    interval = "3s"
  }
  smoke {
    name   = "ping9"
    path   = "/nine"
    host   = "nine.example"
    status = 209
  }
  gate {
    max_error_rate  = 0.09
    max_5xx         = 9
    max_latency_p99 = "909ms"
    min_requests    = 99
  }
}

backup {
  dir             = "/var/backups/nine"
  local_dir       = "bk9"
  retention       = 9
  encrypt_to      = ["AGE_RECIPIENT_1"]
  recipients_file = "recipients9"
  identity_file   = "identity9"
}

timeouts {
  preflight  = "5m9s"
  backup     = "31m9s"
  stop       = "2m9s"
  install    = "10m9s"
  migrations = "30m9s"
  start      = "2m19s"
  verify     = "15m9s"
  rollback   = "30m19s"
  hook       = "5m29s"
}

kong {
  admin_token_file    = "token9"
  keyring_export_file = "keyring9.json"
}

preflight {
  accept = ["nine_key"]
}
`

// Alt replaces parts of HCL: password and token from the
// environment, a cli-managed service with its environment file, Y on a
// spare host with the old ones decommissioned (and Kong started between
// hops), packages from the nodes' repositories, no become.
var Alt = []struct{ Old, New string }{
	{`password_file = "pg_pw"`, `password_env = "KONGCTL_TEST_PG9"`},
	{`admin_token_file    = "token9"`, `admin_token_env = "KONGCTL_TEST_TOKEN9"`},
	{`service_manager = "systemd"`, "service_manager = \"cli\"\n  service_env_file = \"/etc/kong9/env\"\n  decommission = true\n  start_between_hops = true"},
	{`source = "file"
    dir    = "pkgs9"
    plugin_packages = ["kong-plugin-nine"]`, `source = "repository"`},
	{`    method       = "sudo"
    user         = "root9"
    password_env = "KONGCTL_TEST_BECOME9"`, `    method = "none"`},
	{`host "db9" {`, "host \"spare9\" {\n  address = \"10.9.2.1\"\n  roles   = [\"spare\"]\n}\n\nhost \"db9\" {"},
}

// NeverAccepted are in the schema only to refuse a secret
// written inline, with a diagnostic saying where to put it instead.
var NeverAccepted = map[string]string{
	"database.password":        `password = "x"`,
	"kong.admin_token":         `admin_token = "x"`,
	"ssh.become.password":      `password = "x"`,
	"host.ssh.become.password": `password = "x"`,
}

// AdapterAttributes are the attributes the SSH connector's test shows
// reaching the code (sshfleet/settings_test.go); the runner's test covers
// the others.
var AdapterAttributes = []string{
	"database.ca_file",
	"host.address", "host.port", "host.user", "host.host_key",
	"host.ssh.user", "host.ssh.private_keys", "host.ssh.use_agent", "host.ssh.known_hosts", "host.ssh.host_key_policy",
	"host.ssh.jump", "host.ssh.ssh_config", "host.ssh.connect_timeout", "host.ssh.keepalive", "host.ssh.connect_retries",
	"host.ssh.become.method", "host.ssh.become.user", "host.ssh.become.password_file", "host.ssh.become.password_env",
	"ssh.user", "ssh.private_keys", "ssh.use_agent", "ssh.known_hosts", "ssh.host_key_policy", "ssh.jump", "ssh.ssh_config",
	"ssh.connect_timeout", "ssh.keepalive", "ssh.connect_retries",
	"ssh.become.method", "ssh.become.user", "ssh.become.password_env", "ssh.become.password_file",
	"upgrade.kong_conf", "upgrade.prefix", "upgrade.service_manager", "upgrade.service_env_file",
	"load_balancer.socket",
	"variable.default",
}

// World is an inventory loaded from HCL (or its Alt) with the files it
// names: R1 and R2 are the age recipients of encrypt_to and
// recipients_file, CAPEM the database CA.
type World struct {
	Inv    *inventory.Inventory
	R1, R2 string
	CAPEM  string
}

// AltHCL is HCL with every Alt applied.
func AltHCL(t *testing.T) string {
	t.Helper()
	src := HCL
	for _, r := range Alt {
		if !strings.Contains(src, r.Old) {
			t.Fatalf("settingstest.Alt: %q not in HCL", r.Old)
		}
		src = strings.Replace(src, r.Old, r.New, 1)
	}
	return src
}

// Load writes the files src names into a temporary directory, sets the
// environment variables it reads, and loads it.
func Load(t *testing.T, src string) World {
	t.Helper()
	dir := t.TempDir()
	id1, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	id2, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	ca, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	src = strings.Replace(src, "AGE_RECIPIENT_1", id1.Recipient().String(), 1)
	for name, content := range map[string]string{"id_nine": "k", "id_eight": "k", "kh_nine": "", "kh_eight": "", "ssh_config9": "",
		"become_pw": "bpw8\n", "pg_pw": "pgpw9\n", "token9": "tok9\n",
		"recipients9": id2.Recipient().String() + "\n", "identity9": id1.String() + "\n", "ca9.pem": string(ca), "keyring9.json": `{"data":"nine"}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KONGCTL_TEST_BECOME9", "bpw9")
	t.Setenv("KONGCTL_TEST_PG9", "pgpw-env9")
	t.Setenv("KONGCTL_TEST_TOKEN9", "tok-env9")
	inv, diags := inventory.LoadBytes(filepath.Join(dir, "hosts.hcl"), []byte(src))
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	return World{Inv: inv, R1: id1.Recipient().String(), R2: id2.Recipient().String(), CAPEM: string(ca)}
}

// Example loads hcl/examples/name, the inventories the README shows.
func Example(t *testing.T, name string) *inventory.Inventory {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	inv, diags := inventory.Load(filepath.Join(filepath.Dir(file), "..", "..", "..", "hcl", "examples", name))
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", name, diags.Error())
	}
	return inv
}

// Cover fails t for every inventory attribute neither in checks nor in
// others, every check that fails, and every check that names no
// attribute.
func Cover(t *testing.T, checks map[string]bool, others []string) {
	t.Helper()
	for _, attr := range inventory.Attributes() {
		ok, known := checks[attr]
		switch {
		case !known && slices.Contains(others, attr):
		case !known:
			t.Errorf("%s: the inventory accepts it, but no case shows it reaches the code: add one (or remove the attribute)", attr)
		case !ok:
			t.Errorf("%s: the value set in the inventory does not come out in the controller", attr)
		}
		delete(checks, attr)
	}
	for attr := range checks {
		t.Errorf("%s: checked here, but not an inventory attribute", attr)
	}
}

// RefusesInline: the attribute exists only to refuse a secret written in
// the inventory, at its file:line:col.
func RefusesInline(attr, inline string) bool {
	var src string
	switch attr {
	case "database.password":
		src = strings.Replace(HCL, `password_file = "pg_pw"`, inline, 1)
	case "kong.admin_token":
		src = strings.Replace(HCL, `admin_token_file    = "token9"`, inline, 1)
	case "ssh.become.password":
		src = strings.Replace(HCL, `password_env = "KONGCTL_TEST_BECOME9"`, inline, 1)
	case "host.ssh.become.password":
		src = strings.Replace(HCL, `password_file = "become_pw"`, inline, 1)
	}
	_, diags := inventory.LoadBytes("hosts.hcl", []byte(src))
	return diags.HasErrors() && strings.Contains(diags.Error(), "hosts.hcl:")
}

// MissingVariableSays: a variable without a value is reported with its
// description.
func MissingVariableSays(desc string) bool {
	src := strings.Replace(HCL, `default     = "fra9"`, "", 1)
	_, diags := inventory.LoadBytes("hosts.hcl", []byte(src))
	return diags.HasErrors() && strings.Contains(diags.Error(), desc)
}
