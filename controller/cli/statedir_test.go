package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyInventory copies an example inventory into a fresh directory and
// returns its path there.
func copyInventory(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "hosts.hcl", string(b))
}

// TestStateDirsIgnoredByGit: the directories an upgrade creates beside the
// inventory (run journals, backups) carry a .gitignore of "*", so a git
// checkout of the inventory never picks them up; directories that existed
// are left alone.
func TestStateDirsIgnoredByGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for this test (scripts/install-deps.sh)")
	}
	t.Setenv("HOME", t.TempDir()) // no user git config
	for _, tt := range []struct {
		name, localDir string
		ignoreIn       []string // relative to the inventory's directory
	}{
		{"default", "backups", []string{".kongctl", "backups"}},
		{"nested local_dir", "state/db/backups", []string{".kongctl", "state"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := copyInventory(t, examples+"lab.hcl")
			b, _ := os.ReadFile(inv)
			src := strings.Replace(string(b), `local_dir = "backups"`, `local_dir = "`+tt.localDir+`"`, 1)
			if err := os.WriteFile(inv, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(inv)
			git(t, dir, "init", "-q")
			r := kongctl(t, nil, "upgrade", "-i", inv, "--yes")
			if r.code != ExitFailure {
				t.Fatalf("upgrade on no fleet: exit %d\n%s", r.code, r.stderr)
			}
			for _, d := range tt.ignoreIn {
				got, err := os.ReadFile(filepath.Join(dir, d, ".gitignore"))
				if err != nil || !strings.Contains(string(got), "\n*\n") {
					t.Errorf("%s/.gitignore: %v %q", d, err, got)
				}
			}
			// Put something secret-like where the backups go and in the run
			// directory: git sees only the inventory.
			for _, f := range []string{filepath.Join(tt.localDir, "kong.dump"), ".kongctl/runs/r1/journal.jsonl"} {
				p := filepath.Join(dir, f)
				_ = os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := git(t, dir, "status", "--porcelain", "--untracked-files=all"); got != "?? hosts.hcl\n" {
				t.Errorf("git status:\n%s", got)
			}
		})
	}
	t.Run("existing directory left alone", func(t *testing.T) {
		inv := copyInventory(t, examples+"lab.hcl")
		backups := filepath.Join(filepath.Dir(inv), "backups")
		if err := os.Mkdir(backups, 0o755); err != nil {
			t.Fatal(err)
		}
		kongctl(t, nil, "upgrade", "-i", inv, "--yes")
		if _, err := os.Stat(filepath.Join(backups, ".gitignore")); !os.IsNotExist(err) {
			t.Errorf("a .gitignore was written into an existing directory (%v)", err)
		}
	})
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
