//go:build integration

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/dist"
	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 19, item 3: make dist's .deb installs with dpkg on a lab host,
// where the installed kongctl reports the version it was built as, its
// man pages read with man, and its completions are the ones the
// installed `kongctl completion` prints; dpkg -r takes it all away. The
// .rpm installs and goes the same way with rpm, and each tarball's binary
// is built for its architecture.
func TestDistPackagesInstallOnAHost(t *testing.T) {
	const version = "v9.8.7-e2e"
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mk := exec.CommandContext(ctx, "make", "-C", repoRoot, "--no-print-directory", "dist", "VERSION="+version, "DIST_DIR="+out)
	t0 := time.Now()
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, b)
	}
	t.Logf("make dist in %.0fs", time.Since(t0).Seconds())
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = out
	if b, err := sums.CombinedOutput(); err != nil || strings.Count(string(b), ": OK\n") != 6 {
		t.Fatalf("sha256sum -c SHA256SUMS: %v\n%s", err, b)
	}

	// Each tarball's kongctl is built for its architecture.
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		if m := tarballMachine(t, filepath.Join(out, "kongctl_"+version+"_linux_"+arch+".tar.gz")); m != machine {
			t.Errorf("the %s tarball's kongctl is for %v", arch, m)
		}
	}

	e := upLab(t, labenv.Options{Nodes: 1, NoSeed: true})
	host := e.lab.KongHosts()[0].Name
	// The lab's directory is in every host's view; the test's temp dir is not.
	copyIn := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(e.lab.Dir(), name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deb := copyIn("kongctl_" + version + "_amd64.deb")
	root := func(cmd string) string {
		t.Helper()
		ctx, cancel := shortCtx()
		defer cancel()
		out, err := e.lab.Exec(ctx, host, cmd)
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", host, cmd, err, out)
		}
		return out
	}
	if got := root("command -v kongctl || echo none"); strings.TrimSpace(got) != "none" {
		t.Fatalf("%s has a kongctl before the install: %s", host, got)
	}
	if got := root("dpkg -i " + deb + " 2>&1"); strings.Contains(strings.ToLower(got), "warning") {
		t.Errorf("dpkg -i warned:\n%s", got)
	}
	if got := root("dpkg-query -W -f '${Status} ${Version} ${Architecture}' kongctl"); got != "install ok installed 9.8.7+e2e amd64" {
		t.Errorf("dpkg-query: %q", got)
	}

	// As the lab's SSH user, as an operator would.
	v := e.ssh(host, "kongctl version")
	if !strings.HasPrefix(v, "kongctl "+version+" (commit ") || !strings.Contains(v, "not Kong's Konnect CLI") {
		t.Errorf("kongctl version on %s:\n%s", host, v)
	}
	page := e.ssh(host, "MANPAGER=cat MANWIDTH=100 man kongctl-upgrade 2>&1")
	for _, want := range []string{"KONGCTL-UPGRADE(1)", "kongctl-upgrade - Upgrade the fleet", "kongctl upgrade [flags]", "--yes", "kongctl " + version} {
		if !strings.Contains(page, want) {
			t.Errorf("man kongctl-upgrade lacks %q:\n%s", want, page)
		}
	}
	if got := e.ssh(host, "man -w kongctl kongctl-rollback kongctl-completion-bash"); strings.Count(got, "/usr/share/man/man1/") != 3 {
		t.Errorf("man -w:\n%s", got)
	}
	e.ssh(host, "kongctl completion bash | cmp - /usr/share/bash-completion/completions/kongctl && "+
		"kongctl completion zsh | cmp - /usr/share/zsh/vendor-completions/_kongctl && "+
		"kongctl completion fish | cmp - /usr/share/fish/vendor_completions.d/kongctl.fish")
	// What the scripts call to complete: the installed binary answers.
	if comp := e.ssh(host, "kongctl __complete up"); !strings.HasPrefix(comp, "upgrade\t") {
		t.Errorf("kongctl __complete up: %q", comp)
	}

	installed := "ls /usr/bin/kongctl /usr/share/man/man1/kongctl-upgrade.1.gz /usr/share/bash-completion/completions/kongctl 2>/dev/null || true"
	root("dpkg -r kongctl >/dev/null")
	if got := root(installed); got != "" {
		t.Errorf("left after dpkg -r: %s", got)
	}

	// The .rpm, with rpm on the same host (the lab's RPM nodes use it too).
	rpm := copyIn("kongctl_" + version + "_amd64.rpm")
	root("rpm -i " + rpm)
	if got := root("rpm -q --qf '%{VERSION} %{ARCH}' kongctl"); got != "9.8.7+e2e x86_64" {
		t.Errorf("rpm -q: %q", got)
	}
	if v := e.ssh(host, "kongctl version"); !strings.HasPrefix(v, "kongctl "+version+" (commit ") {
		t.Errorf("kongctl version from the rpm:\n%s", v)
	}
	if got := e.ssh(host, "man -w kongctl-upgrade"); strings.TrimSpace(got) != "/usr/share/man/man1/kongctl-upgrade.1.gz" {
		t.Errorf("man -w kongctl-upgrade from the rpm: %q", got)
	}
	root("rpm -e kongctl")
	if got := root(installed); got != "" {
		t.Errorf("left after rpm -e: %s", got)
	}
}

// tarballMachine returns the ELF machine of the kongctl binary in a
// release tarball.
func tarballMachine(t *testing.T, path string) elf.Machine {
	t.Helper()
	var machine elf.Machine
	err := dist.ReadTarball(path, func(h *tar.Header, data []byte) error {
		if !strings.HasSuffix(h.Name, "/kongctl") {
			return nil
		}
		ef, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		machine = ef.Machine
		return nil
	})
	if err != nil || machine == 0 {
		t.Fatalf("%s: no kongctl binary: %v", path, err)
	}
	return machine
}
