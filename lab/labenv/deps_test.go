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

// TestMakeRehearsalAsUserStops: `make rehearsal` (and lab-up) as a user on
// a machine without sshd and PostgreSQL (PATH without /usr/sbin, an empty
// DEPS_ROOT) stops at once, before building anything, with one line naming
// the missing packages and the command that installs them. GO=false: had
// it gone on, the first build would fail rather than bring a lab up.
func TestMakeRehearsalAsUserStops(t *testing.T) {
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "id"), []byte("#!/bin/sh\necho 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"rehearsal", "lab-up"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("make", "-C", repo, "--no-print-directory", target, "GO=false", "LAB_ID=7")
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "DEPS_ROOT=" + t.TempDir(), "HOME=" + t.TempDir()}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			want := "install-deps: missing openssh-server postgresql; install them as root: apt-get install -y --no-install-recommends openssh-server postgresql (or: sudo make deps)"
			if ExitCode(err) != 2 || stdout.String() != "" || len(lines) != 1 || !strings.Contains(lines[0], want) {
				t.Fatalf("exit %v, want 2 and one line with %q\n--- stdout\n%s--- stderr\n%s", err, want, stdout.String(), stderr.String())
			}
		})
	}
}
