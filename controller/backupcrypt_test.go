package controller

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/internal/filehash"

	"filippo.io/age"
)

// withEncryption sets backup.encrypt_to to a fresh age key and returns
// the file of its identity (not set on the spec) and the secret key.
func withEncryption(t *testing.T, spec *Spec) (identityFile, secret string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	spec.Backup.EncryptTo = []string{id.Recipient().String()}
	spec.Backup.LocalDir = filepath.Join(t.TempDir(), "backups")
	identityFile = filepath.Join(t.TempDir(), "backup.key")
	if err := os.WriteFile(identityFile, []byte("# kongctl test\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return identityFile, id.String()
}

func failOn(prefix string) func(string) error {
	return func(call string) error {
		if strings.HasPrefix(call, prefix) {
			return errors.New("injected failure: " + call)
		}
		return nil
	}
}

// The backup is verified in clear on the tools host, streamed through age
// to the bastion (never in clear there), and the clear dump is deleted.
// The gate fails after the point of no return: the automatic rollback
// decrypts it with the identity, writes it back for the restore only,
// and the database equals its pre-upgrade fingerprint.
func TestEncryptedBackupRoundTrip(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	keyFile, secret := withEncryption(t, spec)
	spec.Backup.IdentityFile = keyFile
	c.fail = failOn("kong-2 probe /lab")
	before := c.fingerprint()

	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	c.fail = nil
	if r.Outcome != RolledBack || !r.PointOfNoReturn {
		t.Fatalf("outcome %s (pnr %v): %s / %s", r.Outcome, r.PointOfNoReturn, r.Error, r.RollbackError)
	}
	if !c.fingerprint().Equal(before) {
		t.Error("database after the rollback differs from before the upgrade")
	}
	dump := "kong-" + r.RunID + "-pre.dump"
	calls := c.Calls()
	order := []string{"db verify-restore " + dump, "db stream " + dump, "db remove " + dump,
		"kong-2 probe /lab", "db put " + dump, "db restore " + dump, "db remove " + dump}
	at := 0
	for _, want := range order {
		if at = indexOfCall(calls, want, at); at < 0 {
			t.Fatalf("%q not in order %q: %q", want, order, calls)
		}
		at++
	}
	if n := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, "db fetch") }); n != 0 {
		t.Errorf("the clear dump was fetched to the bastion %d times", n)
	}
	if len(c.backups) != 0 {
		t.Errorf("clear dumps left on the tools host: %v", c.backups)
	}

	b := r.Backup
	if b == nil || !b.Encrypted || !strings.HasSuffix(b.LocalPath, dump+".age") {
		t.Fatalf("report backup %+v", b)
	}
	raw, err := os.ReadFile(b.LocalPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) || bytes.Contains(raw, []byte(dump)) {
		t.Errorf("the bastion's copy is not an age file: %.60q", raw)
	}
	if sum, _ := filehash.SHA256(b.LocalPath); sum != b.EncryptedSHA256 || b.SHA256 == "" || b.SHA256 == sum {
		t.Errorf("checksums: clear %s, encrypted %s, file %s", b.SHA256, b.EncryptedSHA256, sum)
	}
	ents, _ := os.ReadDir(filepath.Dir(b.LocalPath))
	if len(ents) != 1 {
		t.Errorf("bastion backup dir holds more than the encrypted copy: %v", ents)
	}
	var text strings.Builder
	r.WriteText(&text)
	if !strings.Contains(text.String(), "encrypted (age) on bastion: "+b.LocalPath) {
		t.Errorf("report does not say the backup is encrypted:\n%s", text.String())
	}
	j, _ := os.ReadFile(filepath.Join(r.Journal, "journal.jsonl"))
	if len(j) == 0 || bytes.Contains(j, []byte(secret)) || bytes.Contains(j, []byte("AGE-SECRET-KEY")) {
		t.Errorf("journal (%d bytes) carries the identity", len(j))
	}
}

// An upgrade with encrypt_to and no identity is refused before any host,
// unless on_failure is pause (rollback by hand); an identity that does
// not match the recipients is refused too.
func TestUpgradeWithEncryptToNeedsIdentity(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	withEncryption(t, spec)
	_, err := upgrade(context.Background(), spec, testConfig(c))
	if err == nil || !strings.Contains(err.Error(), "--identity FILE") || !strings.Contains(err.Error(), `on_failure = "pause"`) {
		t.Errorf("no identity: %v", err)
	}
	other := &Spec{}
	otherKey, _ := withEncryption(t, other)
	spec.Backup.IdentityFile = otherKey
	if _, err := upgrade(context.Background(), spec, testConfig(c)); err == nil || !strings.Contains(err.Error(), "matches none of backup.encrypt_to") {
		t.Errorf("wrong identity: %v", err)
	}
	if calls := c.Calls(); len(calls) != 0 {
		t.Errorf("refused upgrades touched the fleet: %q", calls)
	}

	spec.Backup.IdentityFile = ""
	spec.OnFailure = "pause"
	if r, err := upgrade(context.Background(), spec, testConfig(c)); err != nil || r.Outcome != Succeeded || !r.Backup.Encrypted {
		t.Errorf("on_failure pause without identity: %v %+v", err, r)
	}
}

// A paused run's rollback without the identity refuses before it touches
// any host, with one line naming the fix; with it, the database is
// restored. A tampered encrypted copy is refused the same way.
func TestRollbackOfEncryptedBackupNeedsIdentity(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	keyFile, _ := withEncryption(t, spec)
	spec.OnFailure = "pause"
	c.fail = failOn("kong-1 probe /lab")
	before := c.fingerprint()
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Paused {
		t.Fatalf("%v %+v", err, r)
	}
	c.fail = nil
	n := len(c.Calls())

	_, err = rollbackRun(context.Background(), spec, testConfig(c))
	if err == nil || !strings.Contains(err.Error(), "nothing was stopped") || !strings.Contains(err.Error(), "--identity FILE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("rollback without identity: %v", err)
	}
	if calls := c.Calls()[n:]; len(calls) != 0 {
		t.Errorf("refused rollback touched the fleet: %q", calls)
	}

	spec.Backup.IdentityFile = keyFile
	raw, _ := os.ReadFile(r.Backup.LocalPath)
	os.WriteFile(r.Backup.LocalPath, append(raw, 0), 0o600)
	if _, err := rollbackRun(context.Background(), spec, testConfig(c)); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("tampered copy: %v", err)
	}
	os.WriteFile(r.Backup.LocalPath, raw, 0o600)
	if calls := c.Calls()[n:]; len(calls) != 0 {
		t.Errorf("refused rollback touched the fleet: %q", calls)
	}

	rb, err := rollbackRun(context.Background(), spec, testConfig(c))
	if err != nil || rb.Outcome != RolledBack {
		t.Fatalf("rollback with identity: %v %+v", err, rb)
	}
	if !c.fingerprint().Equal(before) {
		t.Error("database not restored to the pre-upgrade fingerprint")
	}
	if len(c.backups) != 0 {
		t.Errorf("decrypted dump left on the tools host: %v", c.backups)
	}
}

// The plan warns of what the upgrade would refuse.
func TestPlanFindsMissingBackupIdentity(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	keyFile, _ := withEncryption(t, spec)
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	var f *Finding
	for i := range p.Findings {
		if p.Findings[i].Code == "backup-identity" {
			f = &p.Findings[i]
		}
	}
	if f == nil || f.Severity != SevWarning || !strings.Contains(f.Message, "upgrade will be refused") || !strings.Contains(f.Message, "--identity FILE") {
		t.Errorf("ready %v, finding %+v", p.Ready, f)
	}
	spec.Backup.IdentityFile = keyFile
	if p, err := plan(context.Background(), spec, testConfig(c)); err != nil || !p.Ready || slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == "backup-identity" }) {
		t.Errorf("with the identity: %v %+v", err, p.Findings)
	}
}

// A write that slips in before the stop makes the backup be taken again:
// the retake is encrypted the same way, and it is the one restored.
func TestEncryptedBackupRetaken(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Backup.IdentityFile, _ = withEncryption(t, spec)
	writeAfterFirstBackup(c)
	c.fail = failOn("kong-2 start 3.4.2")
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s / %s", r.Outcome, r.Error, r.RollbackError)
	}
	if b := r.Backup; b == nil || !b.Encrypted || !strings.HasSuffix(b.LocalPath, "-final.dump.age") {
		t.Fatalf("kept backup %+v", r.Backup)
	}
	if want := (dbSnap{schema: "2.8.4", writes: 11}); c.db != want {
		t.Errorf("database after rollback %+v, want %+v", c.db, want)
	}
	ents, _ := os.ReadDir(spec.Backup.LocalDir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".dump.age") {
			t.Errorf("clear file on the bastion: %s", e.Name())
		}
	}
	if len(ents) != 2 || len(c.backups) != 0 {
		t.Errorf("bastion %v, tools host %v", ents, c.backups)
	}
}
