package labenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallDeps runs scripts/install-deps.sh (make deps, the first step of
// make lab-up and make rehearsal) against an empty root file system and a
// PATH without any of the tools: not root, it stops at once with one line
// naming the missing packages and the command that installs them; as root
// it installs them with apt-get.
func TestInstallDeps(t *testing.T) {
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"1000", "0"} {
		t.Run("uid "+uid, func(t *testing.T) {
			bin := t.TempDir()
			aptLog := filepath.Join(t.TempDir(), "apt-get.log")
			shim := func(name, script string) {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!"+bash+"\n"+script+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			shim("id", "echo "+uid)
			shim("apt-get", `echo "$*" >>`+aptLog)
			cmd := exec.Command(bash, filepath.Join(repo, "scripts", "install-deps.sh"))
			cmd.Env = []string{"PATH=" + bin, "DEPS_ROOT=" + t.TempDir()}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			apt, _ := os.ReadFile(aptLog)
			pkgs := []string{"openssh-server", "openssh-client", "postgresql", "iproute2", "sudo", "dpkg-dev", "chromium"}
			if uid != "0" {
				lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
				if ExitCode(err) != 1 || len(lines) != 1 || len(apt) != 0 {
					t.Fatalf("exit %v, apt-get %q, stderr:\n%s", err, apt, stderr.String())
				}
				for _, want := range append(pkgs, "install them as root: apt-get install -y --no-install-recommends openssh-server ") {
					if !strings.Contains(lines[0], want) {
						t.Errorf("the line does not name %q:\n%s", want, lines[0])
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("as root: %v\n%s", err, stderr.String())
			}
			if !strings.HasPrefix(string(apt), "update -qq\ninstall -y -qq --no-install-recommends openssh-server openssh-client postgresql ") {
				t.Errorf("apt-get calls:\n%s", apt)
			}
			for _, p := range pkgs {
				if !strings.Contains(string(apt), " "+p) {
					t.Errorf("apt-get did not install %s:\n%s", p, apt)
				}
			}
		})
	}
}
