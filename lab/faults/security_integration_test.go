//go:build integration

package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/lab/labenv"
)

// kongctlRun runs bin/kongctl with KONGCTL_STATE_DIR=state and returns its
// stdout, stderr and exit code.
func kongctlRun(ctx context.Context, t *testing.T, state string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, testRunner.Kongctl, args...)
	cmd.Env = append(os.Environ(), "KONGCTL_STATE_DIR="+state, "NO_COLOR=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("kongctl %v: %v", args, err)
	}
	return o.Bytes(), e.Bytes(), code
}

func resetLab(t *testing.T, ctx context.Context) string {
	t.Helper()
	if err := testRunner.Reset(ctx, ""); err != nil {
		t.Fatalf("reset the lab to X: %v", err)
	}
	inv, err := testRunner.cellInventory(nil)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// argvSampler reads /proc/*/cmdline of every process on the machine (the
// lab's hosts are namespaces of it: nodes, db host and the bastion
// included) until stopped, and records any holding one of the secrets.
type argvSampler struct {
	secrets []string
	mu      sync.Mutex
	leaks   map[string]bool
	agents  int // samples that saw a kongctl-agent process
	samples int
	stop    chan struct{}
	done    chan struct{}
}

func sampleArgv(secrets ...string) *argvSampler {
	s := &argvSampler{secrets: secrets, leaks: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			s.once()
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *argvSampler) once() {
	ents, _ := os.ReadDir("/proc")
	agent := false
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if bytes.Contains(b, []byte("kongctl-agent")) {
			agent = true
		}
		for _, sec := range s.secrets {
			if bytes.Contains(b, []byte(sec)) {
				line := strings.ReplaceAll(strings.ReplaceAll(string(b), sec, "<SECRET>"), "\x00", " ")
				s.mu.Lock()
				s.leaks[line] = true
				s.mu.Unlock()
			}
		}
	}
	s.mu.Lock()
	s.samples++
	if agent {
		s.agents++
	}
	s.mu.Unlock()
}

func (s *argvSampler) Stop() { close(s.stop); <-s.done }

// TestSecretsNeverLeak runs a full upgrade (JSON events, -v logs) and a
// rollback (text report, -vv logs) while sampling every process's argv on
// the machine, then scans every output for the database password: stdout,
// stderr, the JSON events, the run journal and everything else under the
// state dir, and the agent's files (steps, staged packages, backups) and
// /tmp on every host. Then it checks kongctl's files are owner-only.
func TestSecretsNeverLeak(t *testing.T) {
	ctx := labCtx(t, 10*time.Minute)
	inv := resetLab(t, ctx)
	scanRunForSecrets(t, ctx, testRunner.Lab, inv, secretFile{"database password", testRunner.Lab.PasswordFile()})
}

// TestAdminTokenNeverLeaks is the same scan on an Enterprise lab with RBAC
// enforced (RBAC=1), for the Admin API token and the database password:
// the token travels to every node's agent (health, /metrics) and must
// show in no argv, output, journal or file. The package's lab is rebuilt
// as it was afterwards.
func TestAdminTokenNeverLeaks(t *testing.T) {
	ctx := labCtx(t, 12*time.Minute)
	o := LabOptions()
	o.Nodes, o.Edition, o.RBAC = 2, labenv.EditionEnterprise, true
	lab := sideLab(t, ctx, o)
	scanRunForSecrets(t, ctx, lab, lab.InventoryPath(),
		secretFile{"admin token", filepath.Join(lab.Dir(), labenv.AdminTokenFile)},
		secretFile{"database password", lab.PasswordFile()})
}

// TestEnvConfSecretsNeverLeak is the same scan on an ENVCONF=1 lab: the
// database password lives only in each node's service environment file
// (kong.conf holds the decoy's), so the agent reads it there (or from the
// running Kong's /proc/<pid>/environ) and hands it to kong in the child's
// environment: it must show in no argv, output, journal or file, and
// neither must the decoy's password. The package's lab is rebuilt as it
// was afterwards.
func TestEnvConfSecretsNeverLeak(t *testing.T) {
	ctx := labCtx(t, 12*time.Minute)
	o := LabOptions()
	o.Nodes, o.EnvConf = 2, true
	lab := sideLab(t, ctx, o)
	scanRunForSecrets(t, ctx, lab, lab.InventoryPath(),
		secretFile{"database password", lab.PasswordFile()},
		secretFile{"decoy database password", filepath.Join(lab.Dir(), labenv.DecoyPasswordFile)})
}

// sideLab brings the package's lab up with other options o for one test,
// and as it was (LabOptions) afterwards.
func sideLab(t *testing.T, ctx context.Context, o labenv.Options) *labenv.Lab {
	t.Helper()
	lab, err := labenv.Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up with %+v: %v", o, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		l, err := labenv.Up(ctx, LabOptions())
		if err != nil {
			t.Fatalf("bring the package's lab back: %v", err)
		}
		testRunner.Lab = l
	})
	return lab
}

// secretFile is a secret the scan looks for, and the lab's file holding it
// (hosts grep with it as the pattern file, never in argv).
type secretFile struct{ name, file string }

// scanRunForSecrets runs the upgrade and the rollback on lab and scans
// everything they left for the secrets.
func scanRunForSecrets(t *testing.T, ctx context.Context, lab *labenv.Lab, inv string, secrets ...secretFile) {
	t.Helper()
	vals := map[string]string{}
	var all []string
	for _, sf := range secrets {
		b, err := os.ReadFile(sf.file)
		v := strings.TrimSpace(string(b))
		if err != nil || len(v) < 8 {
			t.Fatalf("%s: %d chars: %v", sf.name, len(v), err)
		}
		vals[sf.name] = v
		all = append(all, v)
	}
	state := t.TempDir()

	s := sampleArgv(all...)
	upOut, upErr, code := kongctlRun(ctx, t, state, "upgrade", "-i", inv, "--yes", "-o", "json", "-v")
	if code != 0 {
		s.Stop()
		t.Fatalf("upgrade exit %d: %s", code, lastLines(upErr, 10))
	}
	rbOut, rbErr, code := kongctlRun(ctx, t, state, "rollback", "-i", inv, "--yes", "-vv")
	s.Stop()
	if code != 0 {
		t.Fatalf("rollback exit %d, want 0: %s", code, lastLines(rbErr, 10))
	}

	t.Run("argv", func(t *testing.T) {
		if s.agents == 0 {
			t.Fatalf("%d samples of /proc never saw a kongctl-agent process: the sampler does not cover the nodes", s.samples)
		}
		for l := range s.leaks {
			t.Errorf("secret in a process's argv: %s", l)
		}
		t.Logf("%d samples, %d with an agent running", s.samples, s.agents)
	})

	t.Run("outputs", func(t *testing.T) {
		// The report must be in the JSON events (else the scan proves little).
		if !bytes.Contains(upOut, []byte(`"type":"report"`)) || !bytes.Contains(rbOut, []byte("rolled-back")) && !bytes.Contains(rbOut, []byte("ROLLED-BACK")) {
			t.Fatalf("outputs lack the reports:\n%s\n%s", lastLines(upOut, 2), lastLines(rbOut, 5))
		}
		for name, b := range map[string][]byte{"upgrade stdout (JSON events)": upOut, "upgrade stderr": upErr, "rollback stdout": rbOut, "rollback stderr": rbErr} {
			for what, v := range vals {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s holds the %s", name, what)
				}
			}
		}
		n := 0
		err := filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for what, v := range vals {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s holds the %s", p, what)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 {
			t.Fatalf("no file under the state dir %s: no journal?", state)
		}
	})

	t.Run("hosts", func(t *testing.T) {
		// grep reads each secret from the lab's file, never from its argv.
		for _, h := range lab.Hosts() {
			for _, sf := range secrets {
				out, err := lab.Exec(ctx, h.Name, fmt.Sprintf(`n=$(find /var/lib/kongctl /tmp /root -type f 2>/dev/null | wc -l); echo "files $n"; for d in /var/lib/kongctl /var/backups/kongctl /tmp /root; do [ -d "$d" ] && grep -rlF -f %s "$d" 2>/dev/null; done; true`, shellquote.Quote(sf.file)))
				if err != nil {
					t.Fatalf("scan %s: %v", h.Name, err)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if !strings.HasPrefix(lines[0], "files ") {
					t.Fatalf("scan %s: %q", h.Name, out)
				}
				for _, l := range lines[1:] {
					t.Errorf("host %s: %s holds the %s", h.Name, l, sf.name)
				}
			}
		}
		// The agent's steps are there to be scanned.
		out, _ := lab.Exec(ctx, migHost, "ls /var/lib/kongctl/steps | wc -l")
		if strings.TrimSpace(out) == "0" {
			t.Fatalf("no agent step files on %s to scan", migHost)
		}
	})

	t.Run("owner-only files", func(t *testing.T) {
		for _, h := range lab.Hosts() {
			out, err := lab.Exec(ctx, h.Name, `for d in /var/lib/kongctl /var/backups/kongctl; do [ -e "$d" ] && find "$d" -printf '%y %m %p\n'; done; true`)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			checkModes(t, h.Name, out)
		}
		out, _ := lab.Exec(ctx, dbHost, "find /var/backups/kongctl -name '*.dump' | wc -l")
		if strings.TrimSpace(out) == "0" {
			t.Fatalf("no backup on %s to check", dbHost)
		}
		var local strings.Builder
		for _, root := range []string{state, filepath.Join(lab.Dir(), "backups")} {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				if p == root && root == state {
					return nil // t.TempDir's own mode
				}
				kind := "f"
				if d.IsDir() {
					kind = "d"
				}
				fmt.Fprintf(&local, "%s %o %s\n", kind, fi.Mode().Perm(), p)
				return nil
			})
		}
		checkModes(t, "bastion", local.String())
	})
}

// checkModes checks `find -printf '%y %m %p'` lines: directories 700,
// files 600 (700 for the agent binaries).
func checkModes(t *testing.T, host, out string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		kind, mode, p := f[0], f[1], f[2]
		ok := false
		switch kind {
		case "d":
			ok = mode == "700"
		case "f":
			ok = mode == "600" || (mode == "700" && strings.Contains(filepath.Base(p), "kongctl-agent"))
		default:
			ok = true
		}
		if !ok {
			t.Errorf("host %s: %s has mode %s (%s), want owner-only", host, p, mode, kind)
		}
	}
}

// TestAgentReplacedOnNode replaces the agent on a node with another file
// of the same name: kongctl must never run it, and must put its own agent
// (by SHA-256) back.
func TestAgentReplacedOnNode(t *testing.T) {
	ctx := labCtx(t, 5*time.Minute)
	inv := resetLab(t, ctx)
	lab := testRunner.Lab
	state := t.TempDir()
	// A plan delivers the agents.
	if _, e, code := kongctlRun(ctx, t, state, "plan", "-i", inv); code != 0 {
		t.Fatalf("plan exit %d: %s", code, lastLines(e, 10))
	}
	// The agent this kongctl delivers (other builds' agents may be there too).
	root, err := labenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	agent, err := os.ReadFile(filepath.Join(root, "build", "agents", agentclient.FileName(agentclient.KindNode, "amd64")))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(agent)
	want := hex.EncodeToString(sum[:])
	path := "/var/lib/kongctl/bin/kongctl-agent-" + want[:12]
	if got, err := lab.Exec(ctx, otherNode, "sha256sum "+path+" | cut -d' ' -f1"); err != nil || strings.TrimSpace(got) != want {
		t.Fatalf("agent %s on %s: sha256 %q, want %s (%v)", path, otherNode, got, want, err)
	}
	imposter := "#!/bin/sh\ntouch /var/lib/kongctl/imposter-ran\necho '{\"protocol_version\":1}'\n"
	if _, err := lab.Exec(ctx, otherNode, fmt.Sprintf("rm -f /var/lib/kongctl/imposter-ran; printf %%s %s > %s && chmod 0700 %s", shellquote.Quote(imposter), path, path)); err != nil {
		t.Fatal(err)
	}
	if _, e, code := kongctlRun(ctx, t, state, "plan", "-i", inv); code != 0 {
		t.Fatalf("plan after the agent was replaced: exit %d: %s", code, lastLines(e, 10))
	}
	if out, _ := lab.Exec(ctx, otherNode, "ls /var/lib/kongctl/imposter-ran 2>/dev/null; true"); strings.TrimSpace(out) != "" {
		t.Fatal("kongctl ran the replaced agent")
	}
	got, err := lab.Exec(ctx, otherNode, "sha256sum "+path+" | cut -d' ' -f1")
	if err != nil || strings.TrimSpace(got) != want {
		t.Fatalf("agent on %s has sha256 %q after the plan, want %q (%v)", otherNode, got, want, err)
	}
}

// TestSecondRunCannotTakeFleetLock starts an upgrade, and once it holds the
// fleet lock starts a second one: the second must be refused before any
// change, and the first must still succeed.
func TestSecondRunCannotTakeFleetLock(t *testing.T) {
	ctx := labCtx(t, 10*time.Minute)
	inv := resetLab(t, ctx)
	if err := testRunner.appendFault(ctx, migHost, "FAKE_KONG_SLOW=0.3"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testRunner.HealAll(context.Background()) })
	stateA := t.TempDir()
	a := exec.CommandContext(ctx, testRunner.Kongctl, "upgrade", "-i", inv, "--yes", "-o", "json")
	a.Env = append(os.Environ(), "KONGCTL_STATE_DIR="+stateA)
	var aErr bytes.Buffer
	a.Stderr = &aErr
	pipe, err := a.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var bOut, bErr []byte
	bCode := -1
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if bCode == -1 && ev.Type == "phase_start" && ev.Phase == "migrate-up" {
			// A holds the lock, the fleet is down: B must not touch it.
			bOut, bErr, bCode = kongctlRun(ctx, t, t.TempDir(), "upgrade", "-i", inv, "--yes", "-o", "json")
		}
	}
	_, _ = io.Copy(io.Discard, pipe)
	if err := a.Wait(); err != nil {
		t.Fatalf("first run: %v: %s", err, lastLines(aErr.Bytes(), 10))
	}
	if bCode != 1 {
		t.Fatalf("second run exit %d, want 1: %s", bCode, lastLines(bErr, 10))
	}
	if !bytes.Contains(bOut, []byte(`"code":"fleet-lock-held"`)) {
		t.Fatalf("second run: no fleet-lock-held finding:\n%s", lastLines(bOut, 5))
	}
	for _, l := range bytes.Split(bOut, []byte("\n")) {
		var ev event
		if json.Unmarshal(l, &ev) == nil && ev.Type == "phase_start" && ev.Phase != "preflight" && ev.Phase != "lock" {
			t.Errorf("second run started phase %s", ev.Phase)
		}
	}
	if err := FleetOn(ctx, testRunner.Lab, testRunner.Lab.Options().To); err != nil {
		t.Fatalf("first run did not end upgraded: %v", err)
	}
	// Back to X with the first run's journal (cheaper than a rebuild).
	if err := testRunner.Reset(ctx, stateA); err != nil {
		t.Logf("reset: %v", err)
	}
}

// TestStrictHostKeys: by default kongctl refuses a host whose key is not
// the one in known_hosts, and a host missing from known_hosts.
func TestStrictHostKeys(t *testing.T) {
	ctx := labCtx(t, 5*time.Minute)
	inv := resetLab(t, ctx)
	lab := testRunner.Lab
	b, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	// The inventory as an operator writes it: no host_key_policy (strict is
	// the default).
	noPolicy := regexp.MustCompile(`(?m)^\s*host_key_policy\s*=.*\n`).ReplaceAll(b, nil)
	if bytes.Contains(noPolicy, []byte("host_key_policy")) {
		t.Fatal("policy line not removed")
	}
	kh, err := os.ReadFile(lab.KnownHostsPath())
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(pub)
	other := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	addr := lab.Address(otherNode)
	var swapped, dropped []string
	for _, l := range strings.Split(strings.TrimSpace(string(kh)), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && strings.Contains(","+f[0]+",", ","+addr+",") {
			swapped = append(swapped, f[0]+" "+other)
			continue
		}
		swapped = append(swapped, l)
		dropped = append(dropped, l)
	}
	if len(dropped) == len(swapped) {
		t.Fatalf("no known_hosts line for %s (%s)", otherNode, addr)
	}
	for name, lines := range map[string][]string{"changed key": swapped, "unknown host": dropped} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			khFile := filepath.Join(lab.Dir(), "faults-known_hosts")
			if err := os.WriteFile(khFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			invFile := filepath.Join(lab.Dir(), "faults-hostkeys.hcl")
			v := bytes.ReplaceAll(noPolicy, []byte(`"known_hosts"`), []byte(`"faults-known_hosts"`))
			if err := os.WriteFile(invFile, v, 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := kongctlRun(ctx, t, t.TempDir(), "plan", "-i", invFile, "-o", "json")
			if code == 0 {
				t.Fatalf("plan accepted %s's %s", otherNode, name)
			}
			all := string(out) + string(stderr)
			if !strings.Contains(all, otherNode) || !regexp.MustCompile(`(?i)host key`).MatchString(all) {
				t.Fatalf("plan exit %d does not name %s's host key:\n%s", code, otherNode, lastLines([]byte(all), 8))
			}
		})
	}
}
