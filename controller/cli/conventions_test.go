package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/inventory"
)

// TestUnattendedNeedsYes: without a terminal on stdin and without --yes,
// upgrade and rollback are usage errors (exit 2) before any host is
// touched: no connection is tried and no run journal is started.
func TestUnattendedNeedsYes(t *testing.T) {
	lab := examples + "lab.hcl"
	for _, args := range [][]string{
		{"upgrade", "-i", lab},
		{"upgrade", "-i", lab, "--resume"},
		{"rollback", "-i", lab},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			state := t.TempDir()
			r := kongctl(t, map[string]string{EnvStateDir: state}, args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, "stdin is not a terminal and --yes was not given") || !strings.Contains(r.stderr, "pass --yes") {
				t.Errorf("exit %d (want %d), stderr:\n%s", r.code, ExitUsage, r.stderr)
			}
			for _, touched := range []string{"ssh ", "198.18.0.", "kong-1", "preflight"} {
				if strings.Contains(r.stderr, touched) {
					t.Errorf("stderr mentions %q: a host was touched before refusing:\n%s", touched, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if ents, _ := os.ReadDir(state); len(ents) != 0 {
				t.Errorf("state dir written before refusing: %v", ents)
			}
		})
	}
	// An inventory error is still reported as such (it comes first).
	r := kongctl(t, nil, "upgrade", "-i", writeFile(t, "hosts.hcl", misspelt))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Unsupported argument") {
		t.Errorf("bad inventory: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestLimitHelpSaysWhatIsAccepted: upgrade refuses a subset, plan and status
// take any selection.
func TestLimitHelpSaysWhatIsAccepted(t *testing.T) {
	for cmd, want := range map[string]string{
		"upgrade": "upgrade refuses any subset of the fleet",
		"plan":    "only these hosts (any selection)",
		"status":  "only these hosts (any selection)",
	} {
		r := kongctl(t, nil, cmd, "--help")
		if r.code != ExitOK || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "tag:NAME, role:NAME") {
			t.Errorf("%s --help: exit %d, want %q in:\n%s", cmd, r.code, want, r.stdout)
		}
	}
}

// TestUpgradeRefusesSubset: a --limit that leaves Kong nodes out is a usage
// error, before any host is touched; one that names them all is accepted.
func TestUpgradeRefusesSubset(t *testing.T) {
	lab := copyInventory(t, examples+"lab.hcl")
	r := kongctl(t, nil, "upgrade", "-i", lab, "--yes", "--limit", "kong-1")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `--limit "kong-1" leaves out [kong-2 kong-3]`) || strings.Contains(r.stderr, "ssh ") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(lab), ".kongctl")); !os.IsNotExist(err) {
		t.Errorf("state written for a refused subset (%v)", err)
	}
	r = kongctl(t, nil, "upgrade", "-i", lab, "--yes", "--limit", "kong")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "ssh kong-1 (198.18.0.11:22)") {
		t.Errorf("--limit naming every node: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestInventoryAloneListsSubcommands(t *testing.T) {
	r := kongctl(t, nil, "inventory")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "missing subcommand: check, show, vagrant") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestVersionSaysWhichKongctl: Kong's Konnect CLI is also named kongctl.
func TestVersionSaysWhichKongctl(t *testing.T) {
	r := kongctl(t, nil, "version")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Kong Gateway fleet upgrade tool") || !strings.Contains(r.stdout, "not Kong's Konnect CLI") {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
	r = kongctl(t, nil, "--help")
	if !strings.Contains(r.stdout, "not Kong's\nKonnect CLI") {
		t.Errorf("--help does not say which kongctl this is:\n%s", r.stdout)
	}
}

// jsonLines parses stdout as JSON lines and checks each carries the schema.
func jsonLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, sc.Text())
		}
		if m["schema"] != float64(1) {
			t.Errorf("line without \"schema\": 1: %s", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestJSONEverywhere: every command honours -o json; events and results
// carry the schema version.
func TestJSONEverywhere(t *testing.T) {
	lab := examples + "lab.hcl"
	t.Run("plan events", func(t *testing.T) {
		r := kongctl(t, map[string]string{EnvStateDir: t.TempDir()}, "plan", "-i", lab, "-o", "json")
		lines := jsonLines(t, r.stdout)
		if r.code != ExitFailure || len(lines) < 3 || lines[0]["type"] != "run_start" || lines[len(lines)-1]["type"] != "report" {
			t.Errorf("exit %d, %d lines:\n%s", r.code, len(lines), r.stdout)
		}
	})
	t.Run("status", func(t *testing.T) {
		r := kongctl(t, map[string]string{EnvStateDir: t.TempDir()}, "status", "-i", lab, "-o", "json")
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["schema"] != float64(1) || doc["hosts"] == nil {
			t.Errorf("exit %d, %v, stdout:\n%s", r.code, err, r.stdout)
		}
	})
	t.Run("version", func(t *testing.T) {
		r := kongctl(t, nil, "version", "-o", "json")
		if lines := jsonLines(t, strings.ReplaceAll(strings.ReplaceAll(r.stdout, "\n  ", ""), "\n}", "}")); len(lines) != 1 || !strings.Contains(lines[0]["tool"].(string), "not Kong's Konnect CLI") {
			t.Errorf("version -o json: %s", r.stdout)
		}
	})
	t.Run("unlock", func(t *testing.T) {
		var b bytes.Buffer
		if err := writeUnlocked(&b, true, "20261125T204626Z-ed84b9"); err != nil {
			t.Fatal(err)
		}
		var res unlockResult
		if err := json.Unmarshal(b.Bytes(), &res); err != nil || res != (unlockResult{Schema: 1, Cleared: true, RunID: "20261125T204626Z-ed84b9"}) {
			t.Errorf("unlock -o json = %s (%v)", b.String(), err)
		}
		b.Reset()
		_ = writeUnlocked(&b, false, "r1")
		if b.String() != "fleet lock of run r1 cleared\n" {
			t.Errorf("unlock text = %q", b.String())
		}
		// On a fleet it cannot reach, nothing but JSON (here nothing) on stdout.
		r := kongctl(t, nil, "unlock", "-i", lab, "--run", "r1", "-o", "json")
		if r.code != ExitFailure || r.stdout != "" {
			t.Errorf("unlock on no fleet: exit %d, stdout %q", r.code, r.stdout)
		}
	})
	t.Run("completion refuses", func(t *testing.T) {
		r := kongctl(t, nil, "completion", "bash", "-o", "json")
		if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, "shell script") {
			t.Errorf("exit %d, stderr %q, %d bytes on stdout", r.code, r.stderr, len(r.stdout))
		}
	})
	t.Run("inventory vagrant", func(t *testing.T) {
		dir := t.TempDir()
		src, err := os.ReadFile("../../inventory/vagrantinv/testdata/libvirt.txt")
		if err != nil {
			t.Fatal(err)
		}
		key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
		args := []string{"inventory", "vagrant", "-o", "json", "--from", "2.8.4", "--to", "3.4.2",
			"--packages", dir, "--db-password-file", filepath.Join(dir, "pw"), "--no-address-check"}
		for i, m := range []string{"db", "kong1", "kong2", "kong3"} {
			args = append(args, "--address", m+"=198.19.10."+string(rune('0'+i+1)), "--host-key", m+"="+key)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &streams{in: bytes.NewReader(src), out: &out, err: &errb}, func(string) string { return "" })
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		inv, diags := inventory.LoadBytes(filepath.Join(dir, "hosts.json"), out.Bytes())
		if diags.HasErrors() || len(inv.KongHosts()) != 3 {
			t.Errorf("-o json output does not load as hosts.json: %v\n%s", diags, out.String())
		}
		// --out: relative paths (backup.local_dir) resolve beside the file.
		out2 := filepath.Join(dir, "sub", "hosts.json")
		if err := os.Mkdir(filepath.Dir(out2), 0o755); err != nil {
			t.Fatal(err)
		}
		code = run(context.Background(), append(args, "--out", out2), &streams{in: bytes.NewReader(src), out: &out, err: &errb}, func(string) string { return "" })
		written, diags := inventory.Load(out2)
		if code != ExitOK || diags.HasErrors() || written.Backup.LocalDir != filepath.Join(dir, "sub", "backups") {
			t.Errorf("--out %s: exit %d, %v, backup.local_dir %q\n%s", out2, code, diags, written.Backup.LocalDir, errb.String())
		}
		r := kongctl(t, nil, append(args, "--out", filepath.Join(dir, "hosts.hcl"))...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "*.json") {
			t.Errorf("--out hosts.hcl with -o json: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
