package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

func kongctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &streams{in: strings.NewReader(""), out: &out, err: &errb},
		func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

const examples = "../../hcl/examples/"

func writeFile(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const misspelt = `host "kong-1" {
  adress = "10.0.0.11"
  roles  = ["kong"]
}
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
`

func TestHelpListsSubcommands(t *testing.T) {
	r := kongctl(t, nil, "--help")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, sub := range []string{"upgrade", "plan", "rollback", "status", "report", "inventory", "version", "completion"} {
		if !strings.Contains(r.stdout, "\n  "+sub+" ") {
			t.Errorf("--help does not list %q:\n%s", sub, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "--inventory") || !strings.Contains(r.stdout, "--output") {
		t.Errorf("--help misses global flags:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := kongctl(t, nil, "version")
	want := fmt.Sprintf("kongctl %s (commit %s, ", buildVersion().Version, buildVersion().Commit)
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("version = %d %q, want prefix %q", r.code, r.stdout, want)
	}
	r = kongctl(t, nil, "version", "-o", "json")
	var v versionInfo
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version == "" || v.Commit == "" {
		t.Errorf("version -o json = %q (%v)", r.stdout, err)
	}
}

func TestInventoryCheck(t *testing.T) {
	for _, ex := range []string{"minimal.hcl", "lab.hcl", "production.hcl"} {
		t.Run(ex, func(t *testing.T) {
			r := kongctl(t, nil, "inventory", "check", "-i", examples+ex)
			if r.code != ExitOK || !strings.Contains(r.stdout, ": ok, ") {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}

	bad := writeFile(t, "hosts.hcl", misspelt)
	t.Run("misspelt attribute names FILE:2:COL", func(t *testing.T) {
		r := kongctl(t, nil, "inventory", "check", "-i", bad)
		if r.code != ExitUsage {
			t.Errorf("exit %d, want %d", r.code, ExitUsage)
		}
		if !strings.Contains(r.stderr, bad+":2:3: error: Unsupported argument") || !strings.Contains(r.stderr, `Did you mean "address"?`) {
			t.Errorf("stderr does not name %s:2:3:\n%s", bad, r.stderr)
		}
	})
	t.Run("json on stdout", func(t *testing.T) {
		r := kongctl(t, nil, "inventory", "check", "-i", bad, "--output", "json")
		var doc struct {
			Valid       bool
			Diagnostics []struct {
				Summary string
				Range   struct{ Start struct{ Line, Column int } }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
		if r.code != ExitUsage || doc.Valid || len(doc.Diagnostics) != 1 || doc.Diagnostics[0].Range.Start.Line != 2 {
			t.Errorf("exit %d, doc %+v", r.code, doc)
		}
	})
	t.Run("KONGCTL_INVENTORY", func(t *testing.T) {
		r := kongctl(t, map[string]string{EnvInventory: examples + "lab.hcl"}, "inventory", "check")
		if r.code != ExitOK || !strings.Contains(r.stdout, "lab.hcl: ok") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		r := kongctl(t, nil, "inventory", "check", "-i", filepath.Join(t.TempDir(), "nope.hcl"))
		if r.code != ExitUsage || !strings.Contains(r.stderr, "Failed to read inventory") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestInventoryShowRedacts(t *testing.T) {
	t.Setenv("KONGCTL_BECOME_PASSWORD", "sudo-secret-value")
	for _, format := range []string{"text", "json"} {
		r := kongctl(t, nil, "inventory", "show", "-i", examples+"production.hcl", "-o", format)
		if r.code != ExitOK {
			t.Fatalf("%s: exit %d: %s", format, r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "sudo-secret-value") || !strings.Contains(r.stdout, "KONGCTL_BECOME_PASSWORD") {
			t.Errorf("%s: secret or reference wrong:\n%s", format, r.stdout)
		}
		if format == "json" && !json.Valid([]byte(r.stdout)) {
			t.Errorf("show -o json is not JSON:\n%s", r.stdout)
		}
	}
}

func TestFlagAndInventoryErrors(t *testing.T) {
	lab := examples + "lab.hcl"
	bad := writeFile(t, "hosts.hcl", misspelt)
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"upgrade", "-i", bad}, ExitUsage, ":2:3: error: Unsupported argument"},
		{[]string{"upgrade", "-i", lab, "--on-failure=retry"}, ExitUsage, "--on-failure must be rollback or pause"},
		{[]string{"upgrade", "-i", lab, "--to", "3.4"}, ExitUsage, "--to: parse version"},
		{[]string{"upgrade", "-i", lab, "--to", "2.8.0"}, ExitUsage, "not newer than upgrade.from 2.8.4: an in-place downgrade is not supported; the nearest valid target is a 2.8.x patch release above 2.8.4"},
		{[]string{"upgrade", "-i", lab, "--limit", "kong-9"}, ExitUsage, `did you mean "kong-1"?`},
		{[]string{"upgrade", "--frobnicate"}, ExitUsage, "unknown flag: --frobnicate"},
		{[]string{"upgrade", "extra-arg", "-i", lab}, ExitUsage, "unknown command"},
		{[]string{"frobnicate"}, ExitUsage, "unknown command \"frobnicate\""},
		{[]string{"version", "-o", "yaml"}, ExitUsage, "--output must be text or json"},
		{[]string{"status", "-q", "-v", "-i", lab}, ExitUsage, "contradict"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := kongctl(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", r.code, tt.code, r.stderr, tt.inStderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

// TestFleetCommandsFailWithoutFleet runs the fleet commands against the lab
// example inventory, whose key and hosts do not exist here: each must fail
// (exit 1) naming the host and what went wrong, never print a success.
func TestFleetCommandsFailWithoutFleet(t *testing.T) {
	// A copy: an upgrade creates its state directories beside the inventory.
	lab := copyInventory(t, examples+"lab.hcl")
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"upgrade", "-i", lab, "--yes"}, ExitFailure, "ssh kong-1 (198.18.0.11:22)"},
		{[]string{"upgrade", "-i", lab, "--yes", "--resume"}, ExitFailure, "no run journal"},
		{[]string{"plan", "-i", lab}, ExitFailure, "not ready"},
		{[]string{"rollback", "-i", lab, "--yes"}, ExitFailure, "no run journal"},
		{[]string{"status", "-i", lab, "-l", "kong"}, ExitFailure, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			state := t.TempDir()
			r := kongctl(t, map[string]string{EnvStateDir: state}, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", r.code, tt.code, r.stderr, tt.inStderr)
			}
			for _, w := range []string{"SUCCEEDED", "succeeded", "READY\n"} {
				if strings.Contains(r.stdout, w) && !strings.Contains(r.stdout, "NOT READY") {
					t.Errorf("stdout claims success (%q):\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{WithCode(ExitRolledBack, errors.New("rolled back")), 3},
		{fmt.Errorf("wrapped: %w", WithCode(ExitPaused, errors.New("paused"))), 4},
		{usageErrorf("bad"), 2},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if WithCode(3, nil) != nil {
		t.Errorf("WithCode(nil) is not nil")
	}
}

func TestCompletion(t *testing.T) {
	r := kongctl(t, nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "kongctl") {
		t.Errorf("completion bash: exit %d, %d bytes", r.code, len(r.stdout))
	}
	r = kongctl(t, nil, "__complete", "upgrade", "-i", examples+"lab.hcl", "--limit", "")
	for _, want := range []string{"kong-1", "tag:lab", "kong\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--limit completion misses %q:\n%s", want, r.stdout)
		}
	}
}
