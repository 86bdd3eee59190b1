package inventory

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func mustLoad(t *testing.T, name, src string) *Inventory {
	t.Helper()
	inv, diags := LoadBytes(name, []byte(src))
	if diags.HasErrors() {
		for _, d := range diags {
			t.Errorf("%s", describe(d))
		}
		t.FailNow()
	}
	return inv
}

func TestExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob("../hcl/examples/*.hcl")
	if len(files) < 3 {
		t.Fatalf("want at least 3 examples, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			inv, diags := Load(f)
			if len(diags) > 0 {
				for _, d := range diags {
					t.Errorf("%s", describe(d))
				}
			}
			if len(inv.KongHosts()) == 0 || inv.Database == nil || inv.Upgrade == nil || inv.ToolsHost() == nil {
				t.Errorf("incomplete model: %d kong hosts, database %v, upgrade %v", len(inv.KongHosts()), inv.Database, inv.Upgrade)
			}
		})
	}
}

const base = `
database {
  host         = "10.0.0.5"
  password_env = "PG"
}
upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
`

func TestDecode(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "hosts.hcl")
	home, _ := os.UserHomeDir()
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, inv *Inventory)
	}{
		{
			name: "defaults",
			src:  "host \"k\" {\n  address = \"10.0.0.1\"\n  roles = [\"kong\"]\n}\n" + base,
			check: func(t *testing.T, inv *Inventory) {
				h := inv.Host("k")
				if h.Port != 22 || h.SSH.User != "root" || h.SSH.HostKeyPolicy != HostKeyStrict || h.SSH.ConnectTimeout != 10*time.Second {
					t.Errorf("host defaults: %+v", h)
				}
				if inv.SSH.Concurrency != DefaultConcurrency || inv.SSH.UploadConcurrency != DefaultUploadConcurrency {
					t.Errorf("concurrency defaults: %+v", inv.SSH)
				}
				db := inv.Database
				if db.Port != 5432 || db.Name != "kong" || db.User != "kong" || db.Schema != "public" || db.TLSMode != "prefer" || db.Secret.Env != "PG" {
					t.Errorf("database defaults: %+v", db)
				}
				u := inv.Upgrade
				if u.To.String() != "3.4.2" || !u.From.IsZero() || u.Edition != EditionOSS || u.OnFailure != "rollback" || u.ServiceManager != "cli" ||
					u.KongConf != "/etc/kong/kong.conf" || u.Package.Dir != filepath.Join(dir, "packages") {
					t.Errorf("upgrade defaults: %+v", u)
				}
				if inv.ToolsHost() != h || inv.MigrationCandidates()[0] != h {
					t.Errorf("tools host %v, migration %v, want k", inv.ToolsHost(), inv.MigrationCandidates())
				}
				if inv.Timeouts.For("migrations") != 30*time.Minute || inv.Backup.LocalDir != filepath.Join(dir, "backups") {
					t.Errorf("timeouts/backup defaults: %+v %+v", inv.Timeouts, inv.Backup)
				}
			},
		},
		{
			name: "per-host ssh override merges over global",
			src: `
ssh {
  user         = "deploy"
  private_keys = ["id_ed25519", "~/.ssh/other"]
  keepalive    = "20s"
  jump         = ["b1", "b2"]
  become { password_file = "sudo_pw" }
}
host "b1" {
  address = "1.1.1.1"
  roles = ["bastion"]
}
host "b2" {
  address = "1.1.1.2"
  roles = ["bastion"]
}
host "k" {
  address = "10.0.0.1"
  roles   = ["kong"]
  user    = "admin"
  ssh {
    keepalive = "5s"
    become { method = "none" }
  }
}
host "k2" {
  address = "10.0.0.2"
  roles   = ["kong"]
  ssh { user = "other" }
}` + base,
			check: func(t *testing.T, inv *Inventory) {
				k := inv.Host("k").SSH
				if k.User != "admin" || k.Keepalive != 5*time.Second || k.Become != nil {
					t.Errorf("k ssh: %+v", k)
				}
				wantKeys := []string{filepath.Join(dir, "id_ed25519"), filepath.Join(home, ".ssh/other")}
				if !slices.Equal(k.PrivateKeys, wantKeys) || !slices.Equal(k.Jump, []string{"b1", "b2"}) {
					t.Errorf("k keys %v jump %v, want %v", k.PrivateKeys, k.Jump, wantKeys)
				}
				k2 := inv.Host("k2").SSH
				if k2.User != "other" || k2.Keepalive != 20*time.Second || k2.Become == nil || k2.Become.Password.File != filepath.Join(dir, "sudo_pw") {
					t.Errorf("k2 ssh: %+v %+v", k2, k2.Become)
				}
				// A bastion reaches through the bastions before it only.
				if j := inv.Host("b1").SSH.Jump; len(j) != 0 {
					t.Errorf("b1 jump = %v, want none", j)
				}
				if j := inv.Host("b2").SSH.Jump; !slices.Equal(j, []string{"b1"}) {
					t.Errorf("b2 jump = %v, want [b1]", j)
				}
				if inv.Host("k").Ranges["address"].Start.Line == 0 {
					t.Errorf("address range not kept")
				}
			},
		},
		{
			name: "variables, functions and env override",
			src: `
variable "prefix" { default = "KONG" }
variable "port"   { default = 22 }
host "k" {
  address = lower(format("%s-1.example.com", var.prefix))
  port    = var.port
  roles   = ["kong"]
  tags    = split(",", env("KONGCTL_TEST_TAGS", "x,y"))
}` + base,
			check: func(t *testing.T, inv *Inventory) {
				h := inv.Host("k")
				if h.Address != "kong-1.example.com" || h.Port != 2222 || !slices.Equal(h.Tags, []string{"a", "b"}) {
					t.Errorf("host %+v", h)
				}
			},
		},
		{
			name: "enterprise package name and stop order from groups",
			src: `
host "k1" {
  address = "10.0.0.1"
  roles = ["kong"]
}
host "k2" {
  address = "10.0.0.2"
  roles = ["kong"]
}
host "k3" {
  address = "10.0.0.3"
  roles = ["kong"]
}
group "last" { hosts = ["k1"] }
database { host = "db" }
upgrade {
  from    = "3.4.3.1"
  to      = "3.4.3.12"
  edition = "enterprise"
  order   = ["k3", "last", "k3"]
  service_env_file = "/etc/kong/kong_env.conf"
  package {
    source = "repository"
  }
}`,
			check: func(t *testing.T, inv *Inventory) {
				u := inv.Upgrade
				if u.ServiceEnvFile != "/etc/kong/kong_env.conf" {
					t.Errorf("ServiceEnvFile = %q", u.ServiceEnvFile)
				}
				if got := u.PackageFile(u.To, "amd64", "deb"); got != "kong-enterprise-edition_3.4.3.12_amd64.deb" {
					t.Errorf("PackageFile = %q", got)
				}
				if !slices.Equal(u.Order, []string{"k3", "k1"}) {
					t.Errorf("Order = %v", u.Order)
				}
				if u.Package.Source != SourceRepository {
					t.Errorf("package source %q", u.Package.Source)
				}
			},
		},
	}
	t.Setenv("KONGCTL_VAR_port", "2222")
	t.Setenv("KONGCTL_TEST_TAGS", "a,b")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, name, tt.src))
		})
	}
}

func TestJSONSyntax(t *testing.T) {
	src := `{
  "host": {
    "kong-1": {"address": "10.0.0.1", "roles": ["kong"]},
    "kong-2": {"adress": "10.0.0.2", "roles": ["kong"]}
  },
  "database": {"host": "10.0.0.5", "password_env": "PG"},
  "upgrade": {"to": "3.4.2", "package": {"source": "file", "dir": "p"}}
}`
	_, diags := LoadBytes("hosts.json", []byte(src))
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `Did you mean "address"?`) || diags[0].Subject.Start.Line != 4 {
		t.Fatalf("want one misspelling diagnostic on line 4, got %v", diags)
	}
	inv := mustLoad(t, "hosts.json", strings.Replace(src, "adress", "address", 1))
	if len(inv.KongHosts()) != 2 {
		t.Errorf("KongHosts = %v", inv.KongHosts())
	}
}

func TestSelect(t *testing.T) {
	inv := mustLoad(t, "hosts.hcl", `
host "db"     {
  address = "10.0.0.5"
  roles = ["database"]
}
host "kong-1" {
  address = "10.0.0.1"
  roles = ["kong"]
  tags = ["dc1"]
}
host "kong-2" {
  address = "10.0.0.2"
  roles = ["kong"]
  tags = ["dc2"]
}
host "kong-3" {
  address = "10.0.0.3"
  roles = ["kong"]
  tags = ["dc1"]
}
group "edge" { hosts = ["kong-2"] }
`+base)
	tests := []struct {
		limit   string
		want    []string
		wantErr string
	}{
		{"", []string{"db", "kong-1", "kong-2", "kong-3"}, ""},
		{"kong-3,edge", []string{"kong-2", "kong-3"}, ""},
		{"tag:dc1", []string{"kong-1", "kong-3"}, ""},
		{"kong-1, edge ,tag:dc1", []string{"kong-1", "kong-2", "kong-3"}, ""},
		{"role:database", []string{"db"}, ""},
		{"kong-9", nil, `did you mean "kong-1"?`},
		{"tag:dc3", nil, `no host has tag "dc3"; did you mean "dc1"?`},
		{"egde", nil, `did you mean "edge"?`},
		{",", nil, "selects no hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			hs, err := inv.Select(tt.limit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Select(%q) error = %v, want %q", tt.limit, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hs {
				got = append(got, h.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select(%q) = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
}

func TestPasswordResolvesAtRuntime(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := `host "k" {
  address = "10.0.0.1"
  roles = ["kong"]
}
upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "p"
  }
}
`
	inv := mustLoad(t, filepath.Join(dir, "a.hcl"), host+`database {
  host          = "db"
  password_file = "pw"
}`)
	if pw, err := inv.Database.Password(); err != nil || string(pw) != "from-file" {
		t.Errorf("file password = %q, %v", pw, err)
	}
	inv = mustLoad(t, filepath.Join(dir, "b.hcl"), host+`database {
  host         = "db"
  password_env = "KONGCTL_TEST_PG"
}`)
	if _, err := inv.Database.Password(); err == nil || !strings.Contains(err.Error(), "KONGCTL_TEST_PG") {
		t.Errorf("unset env: err = %v", err)
	}
	t.Setenv("KONGCTL_TEST_PG", "from-env")
	if pw, err := inv.Database.Password(); err != nil || string(pw) != "from-env" {
		t.Errorf("env password = %q, %v", pw, err)
	}
	// Neither show nor JSON encoding prints the secret, only the reference.
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "from-env") || !strings.Contains(string(b), `"password_env":"KONGCTL_TEST_PG"`) {
		t.Errorf("JSON = %s", b)
	}
}

// TestShowRoundTrip checks that the redacted rendering, in both syntaxes,
// loads back as the same resolved inventory.
func TestShowRoundTrip(t *testing.T) {
	for _, f := range []string{"../hcl/examples/production.hcl", "../hcl/examples/lab.hcl"} {
		inv, diags := Load(f)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var text strings.Builder
		if err := Redacted(inv).WriteHCL(&text); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(Redacted(inv))
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range map[string]string{"show.hcl": text.String(), "show.json": string(js)} {
			again, diags := LoadBytes(filepath.Join(inv.Dir, name), []byte(src))
			if diags.HasErrors() {
				t.Fatalf("%s of %s does not load: %v\n%s", name, f, diags, src)
			}
			var a, b strings.Builder
			_ = Redacted(inv).WriteHCL(&a)
			_ = Redacted(again).WriteHCL(&b)
			if a.String() != b.String() {
				t.Errorf("%s of %s differs after a round trip:\n%s\n---\n%s", name, f, a.String(), b.String())
			}
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	inv, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if inv == nil || !diags.HasErrors() || !strings.Contains(diags[0].Detail, "KONGCTL_INVENTORY") {
		t.Fatalf("got %v, %v", inv, diags)
	}
}

func FuzzLoad(f *testing.F) {
	for _, pat := range []string{"../hcl/examples/*.hcl", "../testdata/inventory/invalid/*.hcl"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, name := range []string{"fuzz.hcl", "fuzz.json"} {
			inv, diags := LoadBytes(filepath.Join(dir, name), src)
			if inv == nil {
				t.Fatal("nil inventory")
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Summary == "" {
					t.Fatalf("error without summary: %v", d)
				}
			}
			if !diags.HasErrors() {
				// A valid inventory renders and selects without panicking.
				var sb strings.Builder
				_ = Redacted(inv).WriteHCL(&sb)
				_, _ = inv.Select("")
			}
		}
	})
}
