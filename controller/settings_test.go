package controller

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/sshremote"
	"github.com/kongctl/kongctl/inventory"
)

// settingsHCL sets every attribute of the inventory language to a value
// of its own; settingsAlt holds the alternatives that cannot stand in the
// same inventory (a password from a file or from the environment, one
// service manager or the other, new hosts or in place).
const settingsHCL = `
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
  order           = ["grp9"]
  package {
    source = "file"
    dir    = "pkgs9"
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

// settingsAlt replaces parts of settingsHCL: password and token from the
// environment, a cli-managed service with its environment file, Y on a
// spare host with the old ones decommissioned, packages from the nodes'
// repositories, no become.
var settingsAlt = []struct{ old, new string }{
	{`password_file = "pg_pw"`, `password_env = "KONGCTL_TEST_PG9"`},
	{`admin_token_file    = "token9"`, `admin_token_env = "KONGCTL_TEST_TOKEN9"`},
	{`service_manager = "systemd"`, "service_manager = \"cli\"\n  service_env_file = \"/etc/kong9/env\"\n  decommission = true"},
	{`source = "file"
    dir    = "pkgs9"`, `source = "repository"`},
	{`    method       = "sudo"
    user         = "root9"
    password_env = "KONGCTL_TEST_BECOME9"`, `    method = "none"`},
	{`host "db9" {`, "host \"spare9\" {\n  address = \"10.9.2.1\"\n  roles   = [\"spare\"]\n}\n\nhost \"db9\" {"},
}

// settingsAttrsNeverAccepted are in the schema only to refuse a secret
// written inline, with a diagnostic saying where to put it instead.
var settingsAttrsNeverAccepted = map[string]string{
	"database.password":        `password = "x"`,
	"kong.admin_token":         `admin_token = "x"`,
	"ssh.become.password":      `password = "x"`,
	"host.ssh.become.password": `password = "x"`,
}

type settingsWorld struct {
	r1, r2     string // the age recipients of encrypt_to and recipients_file
	caPEM      string
	dbConn     agentproto.DBConn
	inv        *inventory.Inventory
	spec       *Spec
	k1, k2     *sshremote.Config
	node       *agentNode
	dbPassword string
	token      string
}

func loadSettings(t *testing.T, src string) settingsWorld {
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
	ca, err := os.ReadFile("../testdata/pki/ca.crt")
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
	spec, err := SpecFromInventory(inv, "", true)
	if err != nil {
		t.Fatal(err)
	}
	spec.withDefaults()
	if err := spec.validate(); err != nil {
		t.Fatal(err)
	}
	w := settingsWorld{inv: inv, spec: spec, r1: id1.Recipient().String(), r2: id2.Recipient().String(), caPEM: string(ca)}
	if w.k1, err = SSHConfig(inv, inv.Host("k1")); err != nil {
		t.Fatal(err)
	}
	if w.k2, err = SSHConfig(inv, inv.Host("k2")); err != nil {
		t.Fatal(err)
	}
	conn, err := NewConnector(inv)
	if err != nil {
		t.Fatal(err)
	}
	sc := conn.(*sshConnector)
	if w.dbConn, err = sc.dbConn(); err != nil {
		t.Fatal(err)
	}
	sc.hosts["k1"] = &agentHost{name: "k1"} // no SSH: the node's settings only
	n, err := sc.Node(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	w.node = n.(*agentNode)
	if spec.DB.Password != nil {
		pw, err := spec.DB.Password()
		if err != nil {
			t.Fatal(err)
		}
		w.dbPassword = string(pw)
	}
	if spec.AdminToken != nil {
		tok, err := spec.AdminToken()
		if err != nil {
			t.Fatal(err)
		}
		w.token = string(tok)
	}
	return w
}

// TestEveryInventoryAttributeReachesTheCode walks every attribute of the
// inventory language (inventory.Attributes, the schemas the decoder uses)
// and shows the value it was given come out where the controller uses it:
// the Spec, an SSH config, the node adapter, a database connection. An
// attribute the language accepts but nothing reads fails here, as does a
// new attribute without a case.
func TestEveryInventoryAttributeReachesTheCode(t *testing.T) {
	a := loadSettings(t, settingsHCL)
	alt := settingsHCL
	for _, r := range settingsAlt {
		if !strings.Contains(alt, r.old) {
			t.Fatalf("settingsAlt: %q not in settingsHCL", r.old)
		}
		alt = strings.Replace(alt, r.old, r.new, 1)
	}
	b := loadSettings(t, alt)
	s, sb := a.spec, b.spec
	var hook HookSpec
	if hs := s.Hooks[HookBeforeStop]; len(hs) == 1 {
		hook = hs[0]
	}
	var smoke SmokeSpec
	if len(s.Verify.Smoke) == 1 {
		smoke = s.Verify.Smoke[0]
	}
	checks := map[string]bool{
		"backup.dir":             s.Backup.Dir == "/var/backups/nine",
		"backup.local_dir":       strings.HasSuffix(s.Backup.LocalDir, "bk9"),
		"backup.retention":       s.Backup.Retention == 9,
		"backup.encrypt_to":      slices.Contains(s.Backup.EncryptTo, a.r1),
		"backup.recipients_file": slices.Equal(s.Backup.EncryptTo, []string{a.r1, a.r2}),
		"backup.identity_file":   strings.HasSuffix(s.Backup.IdentityFile, "identity9"),

		"database.host":          s.DB.Host == "pg9.example",
		"database.port":          s.DB.Port == 5439,
		"database.name":          s.DB.Name == "kong9",
		"database.user":          s.DB.User == "kong_user9",
		"database.schema":        s.DB.Schema == "s9",
		"database.tls_mode":      s.DB.TLSMode == "verify-full",
		"database.password_file": a.dbPassword == "pgpw9",
		"database.password_env":  b.dbPassword == "pgpw-env9",
		"database.tools_host":    s.ToolsHost == "db9",
		"database.ca_file":       strings.HasSuffix(s.DB.CAFile, "ca9.pem") && a.dbConn.CACert == a.caPEM,

		"group.hosts": slices.Equal(s.Nodes, []string{"k2", "k1"}) && slices.Equal(hook.Hosts, []string{"k2", "k1"}),

		"hook.command":           hook.Command == "echo nine",
		"hook.on":                !hook.OnBastion && len(hook.Hosts) == 2,
		"hook.timeout":           hook.Timeout == 39*time.Second,
		"hook.continue_on_error": hook.ContinueOnError,
		"hook.per_node":          hook.PerNode,

		"host.address":  a.k1.Address == "k1.fra9.example" && s.host("k1").Address == "k1.fra9.example",
		"host.port":     a.k1.Port == 2299,
		"host.user":     a.k1.User == "admin9",
		"host.roles":    s.host("k1").Has("kong") && slices.Contains(sb.Spares, "spare9"),
		"host.tags":     selects(t, a.inv, "tag:edge9", "k1"),
		"host.host_key": slices.Equal(a.k1.PinnedKeys, []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}),

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

		"kong.admin_token_file":    a.token == "tok9",
		"kong.admin_token_env":     b.token == "tok-env9",
		"kong.keyring_export_file": strings.HasSuffix(s.KeyringExportFile, "keyring9.json"),

		"preflight.accept": slices.Equal(s.AcceptConf, []string{"nine_key"}),

		"ssh.user":                 a.k1.Jump[0].User == "deployer9",
		"ssh.private_keys":         len(a.k1.KeyFiles) == 1 && strings.HasSuffix(a.k1.KeyFiles[0], "id_nine"),
		"ssh.use_agent":            a.k1.UseAgent,
		"ssh.known_hosts":          len(a.k1.KnownHostsFiles) == 1 && strings.HasSuffix(a.k1.KnownHostsFiles[0], "kh_nine"),
		"ssh.host_key_policy":      a.k1.HostKeyPolicy == sshremote.HostKeyAcceptNew,
		"ssh.jump":                 len(a.k1.Jump) == 1 && a.k1.Jump[0].Address == "10.9.0.1",
		"ssh.ssh_config":           strings.HasSuffix(a.k1.SSHConfigFile, "ssh_config9"),
		"ssh.connect_timeout":      a.k1.ConnectTimeout == 19*time.Second,
		"ssh.keepalive":            a.k1.Keepalive == 29*time.Second,
		"ssh.connect_retries":      a.k1.ConnectRetries == 7,
		"ssh.concurrency":          s.Concurrency == 9 && s.limit(bastionLimit) == 9 && s.limit(startLimit) == 9 && s.limit(nodeLimit) == 18,
		"ssh.upload_concurrency":   s.UploadConcurrency == 3 && s.limit(uploadLimit) == 3,
		"ssh.become.method":        a.k1.Become != nil && a.k1.Become.Method == "sudo" && b.k1.Become == nil,
		"ssh.become.user":          a.k1.Become != nil && a.k1.Become.User == "root9",
		"ssh.become.password_env":  a.k1.Become != nil && string(a.k1.Become.Password) == "bpw9",
		"ssh.become.password_file": a.k2.Become != nil && string(a.k2.Become.Password) == "bpw8", // the same decoder as host.ssh's

		"timeouts.preflight":  s.Timeouts.Preflight == 5*time.Minute+9*time.Second && s.phaseTimeout(PhasePreflight) == s.Timeouts.Preflight,
		"timeouts.backup":     s.Timeouts.Backup == 31*time.Minute+9*time.Second && s.phaseTimeout(PhaseBackup) == s.Timeouts.Backup,
		"timeouts.stop":       s.Timeouts.Stop == 2*time.Minute+9*time.Second,
		"timeouts.install":    s.Timeouts.Install == 10*time.Minute+9*time.Second,
		"timeouts.migrations": s.Timeouts.Migrations == 30*time.Minute+9*time.Second,
		"timeouts.start":      s.Timeouts.Start == 2*time.Minute+19*time.Second,
		"timeouts.verify":     s.Timeouts.Verify == 15*time.Minute+9*time.Second && s.phaseTimeout(PhaseVerify) == s.Timeouts.Verify,
		"timeouts.rollback":   s.Timeouts.Rollback == 30*time.Minute+19*time.Second,
		"timeouts.hook":       hookTimeoutDefault(t, a.inv, s),

		"upgrade.from":                    s.From == "3.4.1" && s.from.String() == "3.4.1",
		"upgrade.to":                      s.To == "3.4.2",
		"upgrade.edition":                 s.Edition == "oss",
		"upgrade.kong_conf":               s.KongConf == "/etc/kong9/kong.conf" && a.node.conf == "/etc/kong9/kong.conf",
		"upgrade.prefix":                  s.Prefix == "/opt/kong9" && a.node.prefix == "/opt/kong9",
		"upgrade.service_manager":         a.node.manager == agentproto.ManagerSystemd && b.node.manager == agentproto.ManagerKongCLI,
		"upgrade.service_env_file":        b.node.envFile == "/etc/kong9/env",
		"upgrade.migration_host":          s.MigrationHost == "k2",
		"upgrade.migrations_db_timeout":   s.MigrationsDBTimeout == 9*time.Minute+9*time.Second,
		"upgrade.migrations_lock_timeout": s.MigrationsLockTimeout == 19*time.Minute+9*time.Second,
		"upgrade.on_failure":              s.OnFailure == "pause",
		"upgrade.stop":                    s.StopMode == inventory.StopSequential,
		"upgrade.finish":                  s.FinishMode == inventory.FinishAfterVerify,
		"upgrade.order":                   slices.Equal(s.Nodes, []string{"k2", "k1"}),
		"upgrade.decommission":            !s.Decommission && sb.Decommission,
		"upgrade.package.source":          s.Package.Source == inventory.SourceFile && sb.Package.Source == inventory.SourceRepository,
		"upgrade.package.dir":             strings.HasSuffix(s.Package.Dir, "pkgs9"),

		"variable.default":     a.k1.Address == "k1.fra9.example",
		"variable.description": missingVariableSays(t, "the data centre"),

		"verify.soak":                 s.Verify.Soak == 49*time.Second,
		"verify.health.timeout":       s.Timeouts.Health == 59*time.Second,
		"verify.health.interval":      s.Verify.Interval == 3*time.Second,
		"verify.smoke.name":           smoke.Name == "ping9" && strings.Contains(smoke.label(), "ping9"),
		"verify.smoke.path":           smoke.Path == "/nine",
		"verify.smoke.host":           smoke.Host == "nine.example",
		"verify.smoke.status":         smoke.Status == 209,
		"verify.gate.max_error_rate":  s.Verify.MaxErrorRate == 0.09,
		"verify.gate.max_5xx":         s.Verify.Max5xx != nil && *s.Verify.Max5xx == 9,
		"verify.gate.max_latency_p99": s.Verify.MaxLatencyP99 == 909*time.Millisecond,
		"verify.gate.min_requests":    s.Verify.MinRequests == 99,
	}
	for attr, inline := range settingsAttrsNeverAccepted {
		checks[attr] = refusesInline(t, attr, inline)
	}
	for _, attr := range inventory.Attributes() {
		ok, known := checks[attr]
		switch {
		case !known:
			t.Errorf("%s: the inventory accepts it, but no case here shows it reaches the code: add one (or remove the attribute)", attr)
		case !ok:
			t.Errorf("%s: the value set in the inventory does not come out in the controller", attr)
		}
		delete(checks, attr)
	}
	for attr := range checks {
		t.Errorf("%s: checked here, but not an inventory attribute", attr)
	}
}

// selects reports whether limit selects exactly want.
func selects(t *testing.T, inv *inventory.Inventory, limit string, want ...string) bool {
	hs, err := inv.Select(limit)
	if err != nil {
		t.Errorf("select %s: %v", limit, err)
		return false
	}
	var got []string
	for _, h := range hs {
		got = append(got, h.Name)
	}
	return slices.Equal(got, want)
}

// hookTimeoutDefault: a hook without a timeout of its own gets
// timeouts.hook.
func hookTimeoutDefault(t *testing.T, inv *inventory.Inventory, s *Spec) bool {
	for _, hk := range inv.Hooks {
		hk.Timeout = 0
	}
	s2, err := SpecFromInventory(inv, "", true)
	if err != nil {
		t.Error(err)
		return false
	}
	hs := s2.Hooks[HookBeforeStop]
	return len(hs) == 1 && hs[0].Timeout == 5*time.Minute+29*time.Second && s.Hooks[HookBeforeStop][0].Timeout == 39*time.Second
}

// missingVariableSays: a variable without a value is reported with its
// description.
func missingVariableSays(t *testing.T, desc string) bool {
	src := strings.Replace(settingsHCL, `default     = "fra9"`, "", 1)
	_, diags := inventory.LoadBytes("hosts.hcl", []byte(src))
	return diags.HasErrors() && strings.Contains(diags.Error(), desc)
}

// refusesInline: the attribute exists only to refuse a secret written in
// the inventory, at its file:line:col.
func refusesInline(t *testing.T, attr, inline string) bool {
	var src string
	switch attr {
	case "database.password":
		src = strings.Replace(settingsHCL, `password_file = "pg_pw"`, inline, 1)
	case "kong.admin_token":
		src = strings.Replace(settingsHCL, `admin_token_file    = "token9"`, inline, 1)
	case "ssh.become.password":
		src = strings.Replace(settingsHCL, `password_env = "KONGCTL_TEST_BECOME9"`, inline, 1)
	case "host.ssh.become.password":
		src = strings.Replace(settingsHCL, `password_file = "become_pw"`, inline, 1)
	}
	_, diags := inventory.LoadBytes("hosts.hcl", []byte(src))
	return diags.HasErrors() && strings.Contains(diags.Error(), "hosts.hcl:")
}
