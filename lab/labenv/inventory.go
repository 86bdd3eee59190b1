package labenv

import (
	"fmt"
	"strings"
)

// hclString quotes s as an HCL string literal.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}

// HCLString quotes s as an HCL string literal (for tests that add to a
// lab's inventory).
func HCLString(s string) string { return hclString(s) }

func hclList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = hclString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// renderInventory writes the lab's kongctl inventory (the shape of
// hcl/examples/CONTRACT.hcl.txt). Paths are relative to the inventory's folder
// except the package dir, which is absolute.
func renderInventory(st *State) string {
	o := st.Options
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var bastion, db *Host
	var kongs []*Host
	for _, h := range st.Hosts {
		switch h.Kind {
		case KindBastion:
			bastion = h
		case KindDatabase:
			db = h
		case KindKong:
			kongs = append(kongs, h)
		}
	}

	w("# kongctl inventory of the rehearsal lab, written by lab/labenv (make lab-up).\n")
	w("# %s\n\n", st.Fingerprint)
	w("ssh {\n")
	w("  user               = %s\n", hclString(o.User))
	w("  private_keys       = [\"id_ed25519\"]\n")
	w("  use_agent          = false\n")
	w("  known_hosts        = [\"known_hosts\"]\n")
	w("  host_key_policy    = \"strict\"\n")
	w("  connect_timeout    = \"10s\"\n")
	w("  keepalive          = \"15s\"\n")
	w("  concurrency        = 16\n")
	w("  upload_concurrency = 8\n")
	if bastion != nil {
		w("  jump               = [%s]\n", hclString(bastion.Name))
	} else {
		w("  jump               = []\n")
	}
	if o.User != "root" {
		w("\n  become {\n    method = \"sudo\"\n  }\n")
	}
	w("}\n")

	for _, h := range st.Hosts {
		w("\nhost %s {\n", hclString(h.Name))
		w("  address = %s\n", hclString(h.Address))
		w("  port    = 22\n")
		w("  roles   = %s\n", hclList(h.Roles))
		w("  tags    = [\"lab\"]\n")
		if h.Kind == KindBastion {
			w("\n  ssh {\n    jump = []\n  }\n")
		}
		w("}\n")
	}

	var names []string
	for _, h := range st.Hosts {
		if h.IsKong() {
			names = append(names, h.Name)
		}
	}
	w("\ngroup \"kong\" {\n  hosts = %s\n}\n", hclList(names))

	w("\ndatabase {\n")
	w("  host          = %s\n", hclString(db.Address))
	w("  port          = %d\n", st.DBPort)
	w("  name          = %s\n", hclString(DBName))
	w("  user          = %s\n", hclString(DBUser))
	w("  schema        = \"public\"\n")
	w("  tls_mode      = \"disable\"\n")
	w("  password_file = \"pg_password\"\n")
	w("  tools_host    = %s\n", hclString(db.Name))
	w("}\n")

	w("\nupgrade {\n")
	w("  from            = %s\n", hclString(o.From))
	w("  to              = %s\n", hclString(st.To))
	w("  edition         = %s\n", hclString(o.Edition))
	w("  kong_conf       = \"/etc/kong/kong.conf\"\n")
	w("  prefix          = \"/usr/local/kong\"\n")
	w("  service_manager = \"cli\"\n")
	if o.EnvConf {
		w("  service_env_file = %s\n", hclString(ServiceEnvFile))
	}
	w("  migration_host  = %s\n", hclString(kongs[0].Name))
	w("  on_failure      = \"rollback\"\n")
	w("\n  package {\n")
	if o.Repository {
		// The nodes' apt source (see AptSource): kongctl downloads there.
		w("    source = \"repository\"\n")
	} else {
		w("    source = \"file\"\n")
		w("    dir    = %s\n", hclString(o.PackagesDir))
	}
	w("  }\n}\n")

	w("\nverify {\n")
	w("  soak = \"10s\"\n")
	w("  smoke {\n    path   = \"/lab\"\n    host   = \"\"\n    status = 200\n  }\n")
	w("  gate {\n    max_error_rate = 0.01\n  }\n}\n")

	if o.LB {
		w("\nload_balancer \"haproxy\" {\n")
		w("  host          = %s\n", hclString(LBHostName))
		w("  backend       = %s\n", hclString(LBBackend))
		w("  socket        = %s\n", hclString(LBSocket))
		w("  drain_timeout = \"30s\"\n")
		w("}\n")
	}

	if o.RBAC {
		w("\nkong {\n  admin_token_file = %s\n}\n", hclString(AdminTokenFile))
	}

	w("\nbackup {\n")
	w("  dir       = \"/var/backups/kongctl\"\n")
	w("  local_dir = \"backups\"\n")
	w("  retention = 5\n}\n")

	w("\ntimeouts {\n")
	w("  stop       = \"60s\"\n")
	w("  install    = \"5m\"\n")
	w("  migrations = \"10m\"\n")
	w("  start      = \"60s\"\n}\n")
	return b.String()
}

// renderSSHConfig writes an ssh_config naming every host, for people and for
// (*Lab).SSH: `ssh -F build/lab/ssh_config kong-1`.
func renderSSHConfig(st *State) string {
	var b strings.Builder
	var bastion *Host
	for _, h := range st.Hosts {
		if h.Kind == KindBastion {
			bastion = h
		}
	}
	fmt.Fprintf(&b, "# kongctl lab: ssh -F %s/ssh_config HOST\n", st.Dir)
	for _, h := range st.Hosts {
		fmt.Fprintf(&b, "\nHost %s %s\n  HostName %s\n", h.Name, h.Address, h.Address)
		if bastion != nil && h != bastion {
			fmt.Fprintf(&b, "  ProxyJump %s\n", bastion.Name)
		}
	}
	fmt.Fprintf(&b, "\nHost *\n")
	fmt.Fprintf(&b, "  User %s\n", st.Options.User)
	fmt.Fprintf(&b, "  IdentityFile %s/id_ed25519\n", st.Dir)
	fmt.Fprintf(&b, "  IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "  UserKnownHostsFile %s/known_hosts\n", st.Dir)
	fmt.Fprintf(&b, "  GlobalKnownHostsFile /dev/null\n")
	fmt.Fprintf(&b, "  StrictHostKeyChecking yes\n")
	fmt.Fprintf(&b, "  BatchMode yes\n")
	fmt.Fprintf(&b, "  LogLevel ERROR\n")
	return b.String()
}
