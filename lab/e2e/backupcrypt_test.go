//go:build integration

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 19 item 5: backups encrypted at rest. With backup { encrypt_to },
// an upgrade without an identity is refused before any host unless it may
// pause (on_failure pause); the verify gate fails after the point of no
// return and the run pauses on Y; the bastion's backup is an age file,
// not a dump, and the clear dump is gone from the tools host. A rollback
// without the identity refuses before any stop (Kong keeps its process);
// with --identity, it restores the database to its pre-upgrade
// fingerprint and X serves again. The key never reaches a report, a log
// or the journal.
func TestEncryptedBackupRollback(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	before := e.fingerprint()

	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "backup.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.inv = e.writeInventory(func(s string) string {
		s = strings.Replace(s, "  retention = 5\n", "  retention = 5\n  encrypt_to = [\""+id.Recipient().String()+"\"]\n", 1)
		s = strings.Replace(s, "  smoke {\n    path   = \"/lab\"\n    host   = \"\"\n    status = 200\n  }\n", "", 1)
		return strings.Replace(s, "max_error_rate = 0.01", "max_error_rate = 0.5\n    max_5xx        = 3\n    min_requests   = 10", 1)
	})
	secretSeen := func(what, s string) {
		if strings.Contains(s, id.String()) || strings.Contains(s, "AGE-SECRET-KEY") {
			t.Errorf("%s carries the age identity", what)
		}
	}

	// The automatic rollback could not restore: refused before any host.
	pids := e.kongPIDs(nodes)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "--identity FILE") || !strings.Contains(r.stderr, `on_failure = "pause"`) {
		t.Fatalf("upgrade with encrypt_to and no identity: %s", r)
	}
	if runs, _ := filepath.Glob(filepath.Join(e.stateDir, "runs", "*")); len(runs) != 0 || !equalMaps(pids, e.kongPIDs(nodes)) {
		t.Fatalf("the refused upgrade started a run (%v) or touched Kong", runs)
	}

	// The gate fails after the point of no return; the run pauses.
	e.writeFault(nodes[0], "FAKE_KONG_START_5XX=1")
	p := e.probe(nodes)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--on-failure=pause", "--output", "json")
	p.stop()
	e.clearFault(nodes[0])
	if r.code != 4 {
		t.Fatalf("upgrade: want exit 4 (paused): %s", r)
	}
	rep := finalReport(t, r.stdout)
	if rep.Backup == nil || !strings.HasSuffix(rep.Backup.LocalPath, ".dump.age") || !strings.Contains(rep.Error, "max_5xx") {
		t.Fatalf("report: backup %+v, error %q", rep.Backup, rep.Error)
	}
	secretSeen("the upgrade's output", r.stdout+r.stderr)
	raw, err := os.ReadFile(rep.Backup.LocalPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) || bytes.Contains(raw, []byte("PGDMP")) {
		t.Errorf("the bastion's backup is not an age file: %.40q", raw)
	}
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.Exec(ctx, "db", "test ! -e "+rep.Backup.Path+" && ! ls /var/backups/kongctl | grep -q partial"); err != nil {
		t.Errorf("the clear dump %s is still on the tools host: %v %s", rep.Backup.Path, err, out)
	}
	e.requireVersion("3.4.2", nodes...)

	// Without the identity: refused before any stop, in one line.
	pids = e.kongPIDs(nodes)
	r = e.kongctl("rollback", "-i", e.inv, "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was stopped") || !strings.Contains(r.stderr, "--identity FILE") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("rollback without the identity: %s", r)
	}
	if !equalMaps(pids, e.kongPIDs(nodes)) {
		t.Error("the refused rollback restarted Kong")
	}
	e.requireVersion("3.4.2", nodes...)

	// With it: the database is back to its pre-upgrade fingerprint.
	r = e.kongctl("rollback", "-i", e.inv, "--yes", "--identity", keyFile)
	if r.code != 0 {
		t.Fatalf("rollback with the identity: %s", r)
	}
	secretSeen("the rollback's output", r.stdout+r.stderr)
	e.requireVersion("2.8.4", nodes...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before the upgrade:\n%s", strings.Join(d, "\n"))
	}
	e.requireServing(nodes, []route{{"/lab", ""}})
	if out, err := e.lab.Exec(ctx, "db", "test ! -e "+rep.Backup.Path); err != nil {
		t.Errorf("the decrypted dump stayed on the tools host after the restore: %v %s", err, out)
	}
	j, err := os.ReadFile(filepath.Join(rep.Journal, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	secretSeen("the journal", string(j))
}
