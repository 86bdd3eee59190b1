package runner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/internal/settingstest"
	"github.com/kongctl/kongctl/inventory"
)

// specOf is the Spec of w's inventory, defaults applied and validated.
func specOf(t *testing.T, w settingstest.World) *Spec {
	t.Helper()
	spec, err := SpecFromInventory(w.Inv, "", true)
	if err != nil {
		t.Fatal(err)
	}
	spec.withDefaults()
	if err := spec.validate(); err != nil {
		t.Fatal(err)
	}
	return spec
}

func passwordOf(t *testing.T, s *Spec) string {
	t.Helper()
	if s.DB.Password == nil {
		return ""
	}
	pw, err := s.DB.Password()
	if err != nil {
		t.Fatal(err)
	}
	return string(pw)
}

func tokenOf(t *testing.T, s *Spec) string {
	t.Helper()
	if s.AdminToken == nil {
		return ""
	}
	tok, err := s.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// TestEveryInventoryAttributeReachesTheCode walks every attribute of the
// inventory language (inventory.Attributes, the schemas the decoder uses)
// and shows the value it was given come out in the Spec the runner uses;
// the SSH connector's test (sshfleet) shows the attributes of
// settingstest.AdapterAttributes reach the SSH configurations, the node
// adapter and the database connection. An attribute the language accepts
// but nothing reads fails here, as does a new attribute without a case.
func TestEveryInventoryAttributeReachesTheCode(t *testing.T) {
	a := settingstest.Load(t, settingstest.HCL)
	b := settingstest.Load(t, settingstest.AltHCL(t))
	s, sb := specOf(t, a), specOf(t, b)
	sd := specOf(t, settingstest.Load(t, strings.NewReplacer(
		`  order           = ["grp9"]`, "  order = [\"grp9\"]\n  strategy = \"dual-cluster\"\n  target_database = \"kong9_y\"\n  replace_target_database = true\n  shift = [\"9%\", \"100%\"]",
		`host "db9" {`, "host \"spare9\" {\n  address = \"10.9.2.1\"\n  roles   = [\"spare\"]\n}\n\nhost \"db9\" {").Replace(settingstest.HCL)))
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
		"backup.encrypt_to":      slices.Contains(s.Backup.EncryptTo, a.R1),
		"backup.recipients_file": slices.Equal(s.Backup.EncryptTo, []string{a.R1, a.R2}),
		"backup.identity_file":   strings.HasSuffix(s.Backup.IdentityFile, "identity9"),

		"database.host":          s.DB.Host == "pg9.example",
		"database.port":          s.DB.Port == 5439,
		"database.name":          s.DB.Name == "kong9",
		"database.user":          s.DB.User == "kong_user9",
		"database.schema":        s.DB.Schema == "s9",
		"database.tls_mode":      s.DB.TLSMode == "verify-full",
		"database.password_file": passwordOf(t, s) == "pgpw9",
		"database.password_env":  passwordOf(t, sb) == "pgpw-env9",
		"database.tools_host":    s.ToolsHost == "db9",
		"database.ca_file":       strings.HasSuffix(s.DB.CAFile, "ca9.pem"),

		"group.hosts": slices.Equal(s.Nodes, []string{"k2", "k1"}) && slices.Equal(hook.Hosts, []string{"k2", "k1"}),

		"hook.command":           hook.Command == "echo nine",
		"hook.on":                !hook.OnBastion && len(hook.Hosts) == 2,
		"hook.timeout":           hook.Timeout == 39*time.Second,
		"hook.continue_on_error": hook.ContinueOnError,
		"hook.per_node":          hook.PerNode,

		"host.address": s.host("k1").Address == "k1.fra9.example",
		"host.roles":   s.host("k1").Has("kong") && slices.Contains(sb.Spares, "spare9"),
		"host.tags":    selects(t, a.Inv, "tag:edge9", "k1"),

		"kong.admin_token_file":    tokenOf(t, s) == "tok9",
		"kong.admin_token_env":     tokenOf(t, sb) == "tok-env9",
		"kong.keyring_export_file": strings.HasSuffix(s.KeyringExportFile, "keyring9.json"),

		"load_balancer.host":          s.LB != nil && s.LB.Host == "db9",
		"load_balancer.backend":       s.LB != nil && s.LB.Backend == "be9",
		"load_balancer.drain_timeout": s.LB != nil && s.LB.DrainTimeout == 39*time.Second,
		"host.lb_server":              s.LB != nil && s.LB.Servers["k1"] == "k1srv9" && s.LB.Servers["k2"] == "k2",

		"preflight.accept": slices.Equal(s.AcceptConf, []string{"nine_key"}),

		"ssh.concurrency":        s.Concurrency == 9 && s.limit(bastionLimit) == 9 && s.limit(startLimit) == 9 && s.limit(nodeLimit) == 18,
		"ssh.upload_concurrency": s.UploadConcurrency == 3 && s.limit(uploadLimit) == 3,

		"timeouts.preflight":  s.Timeouts.Preflight == 5*time.Minute+9*time.Second && s.phaseTimeout(PhasePreflight) == s.Timeouts.Preflight,
		"timeouts.backup":     s.Timeouts.Backup == 31*time.Minute+9*time.Second && s.phaseTimeout(PhaseBackup) == s.Timeouts.Backup,
		"timeouts.stop":       s.Timeouts.Stop == 2*time.Minute+9*time.Second,
		"timeouts.install":    s.Timeouts.Install == 10*time.Minute+9*time.Second,
		"timeouts.migrations": s.Timeouts.Migrations == 30*time.Minute+9*time.Second,
		"timeouts.start":      s.Timeouts.Start == 2*time.Minute+19*time.Second,
		"timeouts.verify":     s.Timeouts.Verify == 15*time.Minute+9*time.Second && s.phaseTimeout(PhaseVerify) == s.Timeouts.Verify,
		"timeouts.rollback":   s.Timeouts.Rollback == 30*time.Minute+19*time.Second,
		"timeouts.hook":       hookTimeoutDefault(t, a.Inv, s),

		"upgrade.from":                    s.From == "3.4.1" && s.from.String() == "3.4.1",
		"upgrade.to":                      s.To == "3.4.2",
		"upgrade.edition":                 s.Edition == "oss",
		"upgrade.kong_conf":               s.KongConf == "/etc/kong9/kong.conf",
		"upgrade.prefix":                  s.Prefix == "/opt/kong9",
		"upgrade.migration_host":          s.MigrationHost == "k2",
		"upgrade.migrations_db_timeout":   s.MigrationsDBTimeout == 9*time.Minute+9*time.Second,
		"upgrade.migrations_lock_timeout": s.MigrationsLockTimeout == 19*time.Minute+9*time.Second,
		"upgrade.on_failure":              s.OnFailure == "pause",
		"upgrade.stop":                    s.StopMode == inventory.StopSequential,
		"upgrade.finish":                  s.FinishMode == inventory.FinishAfterVerify,
		"upgrade.order":                   slices.Equal(s.Nodes, []string{"k2", "k1"}),
		"upgrade.data_planes":             s.DataPlaneMode == DataPlanesRolling,
		"upgrade.batch":                   s.DPBatch == 9,
		"upgrade.data_plane_timeout":      s.Timeouts.DataPlane == 99*time.Second,
		"upgrade.decommission":            !s.Decommission && sb.Decommission,
		"upgrade.strategy":                !s.DualCluster && sd.DualCluster && sd.LB.Servers["spare9"] == "spare9",
		"upgrade.target_database":         sd.TargetDB == "kong9_y",
		"upgrade.shift":                   slices.Equal(sd.Shift, []int{9, 100}),
		"upgrade.replace_target_database": !s.ReplaceTarget && sd.ReplaceTarget,
		"upgrade.start_between_hops":      !s.StartBetweenHops && sb.StartBetweenHops,
		"upgrade.package.source":          s.Package.Source == inventory.SourceFile && sb.Package.Source == inventory.SourceRepository,
		"upgrade.package.dir":             strings.HasSuffix(s.Package.Dir, "pkgs9"),
		"upgrade.package.plugin_packages": slices.Equal(s.Package.Plugins, []string{"kong-plugin-nine"}) && len(sb.Package.Plugins) == 0,

		"variable.default":     s.host("k1").Address == "k1.fra9.example",
		"variable.description": settingstest.MissingVariableSays("the data centre"),

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
	for attr, inline := range settingstest.NeverAccepted {
		checks[attr] = settingstest.RefusesInline(attr, inline)
	}
	settingstest.Cover(t, checks, settingstest.AdapterAttributes)
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
