package labenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBoxMirror runs scripts/vagrant/mirror.sh (the Vagrant box build's
// Debian mirror) with the real apt-get against scratch apt configurations
// (APT_CONFIG): MIRROR= wins; else apt's bookworm main source, in either
// sources format; with none, it stops with one line saying how to set one.
func TestBoxMirror(t *testing.T) {
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repo, "scripts", "vagrant", "mirror.sh")
	for _, tc := range []struct {
		name, list, deb822, mirror, want string
	}{
		{name: "one-line sources.list", want: "http://mirror.example/debian",
			list: "deb http://mirror.example/debian-security bookworm-security main\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main contrib\n"},
		{name: "deb822 sources", want: "https://m2.example/debian",
			deb822: "Types: deb\nURIs: https://m2.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"},
		{name: "MIRROR wins", mirror: "http://local.example/debian/", want: "http://local.example/debian",
			list: "deb http://mirror.example/debian bookworm main\n"},
		{name: "only security and another release", list: "deb http://mirror.example/debian-security bookworm-security main\ndeb http://mirror.example/debian trixie main\n"},
		{name: "nothing configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			write := func(p, s string) {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(filepath.Join(d, "sources.list"), tc.list)
			write(filepath.Join(d, "parts", "a.sources"), tc.deb822)
			write(filepath.Join(d, "apt.conf"), "Dir::Etc::SourceList \""+d+"/sources.list\";\nDir::Etc::SourceParts \""+d+"/parts\";\n")
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(), "APT_CONFIG="+filepath.Join(d, "apt.conf"), "MIRROR="+tc.mirror)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.want != "" {
				if err != nil || stdout.String() != tc.want+"\n" {
					t.Fatalf("exit %v, stdout %q, want %q; stderr:\n%s", err, stdout.String(), tc.want, stderr.String())
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if ExitCode(err) != 1 || stdout.String() != "" || len(lines) != 1 ||
				!strings.Contains(lines[0], "no Debian mirror") || !strings.Contains(lines[0], "MIRROR=http://<mirror>/debian") {
				t.Fatalf("exit %v, stdout %q, stderr:\n%s", err, stdout.String(), stderr.String())
			}
		})
	}
	// No address in the box build's scripts: the mirror comes from apt or MIRROR only.
	for _, f := range []string{"build-box.sh", "mirror.sh", "setup-host.sh", "rehearsal.sh"} {
		b, err := os.ReadFile(filepath.Join(repo, "scripts", "vagrant", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"deb.debian.org", "ftp.debian.org", "debian.org/debian", "mirrors."} {
			if strings.Contains(string(b), host) {
				t.Errorf("scripts/vagrant/%s names a mirror (%s)", f, host)
			}
		}
	}
}
