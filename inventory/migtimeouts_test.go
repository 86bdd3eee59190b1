package inventory

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// upgrade { migrations_db_timeout, migrations_lock_timeout } override the
// sized migration timeouts; a bad value is an error at the value's
// file:line:col.
func TestMigrationTimeoutOverrides(t *testing.T) {
	with := func(attrs string) string {
		return strings.Replace(kongBlockBase, "  to = \"3.4.2\"\n", "  to = \"3.4.2\"\n"+attrs, 1)
	}
	inv := mustLoad(t, "hosts.hcl", with("  migrations_db_timeout   = \"10m\"\n  migrations_lock_timeout = \"2m\"\n"))
	if got := inv.Upgrade.MigrationTimeouts; got.DBTimeout != 10*time.Minute || got.LockTimeout != 2*time.Minute {
		t.Errorf("overrides: %+v", got)
	}
	if got := mustLoad(t, "hosts.hcl", kongBlockBase).Upgrade.MigrationTimeouts; got != (MigrationTimeouts{}) {
		t.Errorf("no overrides: %+v, want zero (sized)", got)
	}
	_, diags := LoadBytes("hosts.hcl", []byte(with("  migrations_db_timeout = \"500ms\"\n")))
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "at least \"1s\"") {
		t.Errorf("500ms: %v", diags)
	}
	for src, want := range map[string]string{
		"  migrations_db_timeout = \"500ms\"\n":  "hosts.hcl:13:27: Invalid duration",
		"  migrations_lock_timeout = \"ten\"\n":  "hosts.hcl:13:29: Invalid duration",
		"  migrations_db_timeout = \"0s\"\n":     "hosts.hcl:13:27: Invalid duration",
		"  migrations_lock_timout = \"1m\"\n":    "hosts.hcl:13:3: Unsupported argument",
		"  migrations_db_timeout = \"-1m\"\n":    "hosts.hcl:13:27: Invalid duration",
		"  migrations_db_timeout = \"999ms\"\n":  "hosts.hcl:13:27: Invalid duration",
		"  migrations_lock_timeout = \"0.5s\"\n": "hosts.hcl:13:29: Invalid duration",
	} {
		_, diags := LoadBytes("hosts.hcl", []byte(with(src)))
		if !diags.HasErrors() {
			t.Errorf("%q: no error", src)
			continue
		}
		d := diags[0]
		got := fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary)
		if got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}
