package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sshConfigInventory = `host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
%s}
database {
  host = "10.0.0.5"
}
upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
%s`

// TestSSHConfigDefault: ~/.ssh/config is read when the inventory names no
// ssh_config (as ssh does), ssh_config = "" turns it off, fleet-wide or per
// host, and inventory show keeps the choice across a round trip.
func TestSSHConfigDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	userConfig := filepath.Join(home, ".ssh", "config")
	own := filepath.Join(t.TempDir(), "ssh_config")
	load := func(hostSSH, fleetSSH string) *Inventory {
		t.Helper()
		return mustLoad(t, filepath.Join(t.TempDir(), "hosts.hcl"), strings.ReplaceAll(
			strings.Replace(strings.Replace(sshConfigInventory, "%s", hostSSH, 1), "%s", fleetSSH, 1), "OWN", own))
	}
	off := "ssh {\n  ssh_config = \"\"\n}\n"

	if got := load("", "").Host("kong-1").SSH.SSHConfig; got != "" {
		t.Errorf("no ~/.ssh/config: ssh_config = %q, want none", got)
	}
	if err := os.MkdirAll(filepath.Dir(userConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(userConfig, []byte("Host *\n  ConnectTimeout 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, host, fleet, want string
	}{
		{"default", "", "", userConfig},
		{"off fleet-wide", "", off, ""},
		{"off for one host", "  " + strings.ReplaceAll(off, "\n", "\n  "), "", ""},
		{"named", "", "ssh {\n  ssh_config = \"OWN\"\n}\n", own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := load(tt.host, tt.fleet)
			if got := inv.Host("kong-1").SSH.SSHConfig; got != tt.want {
				t.Errorf("kong-1 ssh_config = %q, want %q", got, tt.want)
			}
			var text strings.Builder
			if err := Redacted(inv).WriteHCL(&text); err != nil {
				t.Fatal(err)
			}
			again := mustLoad(t, filepath.Join(inv.Dir, "show.hcl"), text.String())
			if got := again.Host("kong-1").SSH.SSHConfig; got != tt.want {
				t.Errorf("after inventory show: ssh_config = %q, want %q\n%s", got, tt.want, text.String())
			}
		})
	}
}
