package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/internal/filehash"

	"filippo.io/age"
)

// Encrypted backups (backup { encrypt_to = [...] }): the dump is taken and
// verified on the tools host as any other; then it is streamed through
// age to the bastion, so the clear dump never touches the bastion's disk,
// and the clear dump on the tools host is deleted. A restore decrypts the
// bastion's copy with the operator's identity and streams it back to the
// tools host (owner-only, beside the final name, renamed when complete),
// where it lives only for the restore: it is deleted right after, failed
// or not. Keys are read from files, never from argv, and never logged.

// recipients parses backup.encrypt_to.
func (b BackupSpec) recipients() ([]age.Recipient, error) {
	rs, err := age.ParseRecipients(strings.NewReader(strings.Join(b.EncryptTo, "\n")))
	if err != nil {
		return nil, fmt.Errorf("backup.encrypt_to: %w", err)
	}
	return rs, nil
}

// identities reads the age identities of backup.identity_file or
// --identity. Its errors never quote the file's content.
func (b BackupSpec) identities() ([]age.Identity, error) {
	f, err := os.Open(b.IdentityFile)
	if err != nil {
		return nil, fmt.Errorf("read age identity: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("read age identity %s: %w", b.IdentityFile, err)
	}
	return ids, nil
}

// checkBackupKeys runs before an upgrade touches any host. With
// backup.encrypt_to, the automatic rollback restores the database from
// the encrypted backup, so it needs the identity: without one, the
// upgrade is refused unless on_failure is "pause" (the operator rolls
// back by hand, with `kongctl rollback --identity FILE`). An identity
// given must decrypt what is encrypted to the recipients.
func (s *Spec) checkBackupKeys() error {
	if len(s.Backup.EncryptTo) == 0 {
		return nil
	}
	rs, err := s.Backup.recipients()
	if err != nil {
		return err
	}
	if s.Backup.IdentityFile == "" {
		if s.OnFailure == "pause" {
			return nil
		}
		return errors.New("backup.encrypt_to is set but no age identity was given to decrypt the backup for the automatic rollback: pass --identity FILE or set backup { identity_file = ... }, or set on_failure = \"pause\" (or --on-failure=pause) to roll back by hand with `kongctl rollback --identity FILE`")
	}
	ids, err := s.Backup.identities()
	if err != nil {
		return err
	}
	var probe bytes.Buffer
	w, err := age.Encrypt(&probe, rs...)
	if err == nil {
		_, err = io.WriteString(w, "kongctl")
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("encrypt to backup.encrypt_to: %w", err)
	}
	if _, err := age.Decrypt(&probe, ids...); err != nil {
		return fmt.Errorf("the age identity in %s matches none of backup.encrypt_to: a backup encrypted to them could not be restored with it", s.Backup.IdentityFile)
	}
	return nil
}

// checkBackupKeys shows in the plan what the upgrade would refuse
// (Spec.checkBackupKeys). A warning: the upgrade's own flags
// (--identity, --on-failure=pause) may settle it.
func (e *engine) checkBackupKeys() {
	if err := e.spec.checkBackupKeys(); err != nil {
		e.find(Finding{Severity: SevWarning, Code: "backup-identity", Message: "the upgrade will be refused: " + err.Error(),
			Fix: "age-keygen -y IDENTITY_FILE prints the recipient an identity decrypts; give that identity with --identity or backup.identity_file"})
	}
}

// storeEncrypted streams the verified dump b from the tools host through
// age into localDir, checks the clear stream against b.SHA256, records
// the encrypted file's SHA-256, and deletes the clear dump on the tools
// host.
func (e *engine) storeEncrypted(ctx context.Context, db fleet.Database, b fleet.BackupInfo, localDir string) (fleet.BackupInfo, error) {
	st, ok := db.(fleet.BackupStreamer)
	if !ok {
		return fleet.BackupInfo{}, fmt.Errorf("encrypt backup %s: the database connection cannot stream it", b.Path)
	}
	if localDir == "" {
		return fleet.BackupInfo{}, fmt.Errorf("encrypt backup %s: backup.encrypt_to needs a directory on the bastion (backup.local_dir)", b.Path)
	}
	rs, err := e.spec.Backup.recipients()
	if err != nil {
		return fleet.BackupInfo{}, err
	}
	if err := os.MkdirAll(localDir, 0o700); err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("encrypt backup %s: %w", b.Path, err)
	}
	lp := filepath.Join(localDir, filepath.Base(b.Path)+".age")
	tmp := lp + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("encrypt backup %s: %w", b.Path, err)
	}
	defer os.Remove(tmp)
	encSum, clearSum := sha256.New(), sha256.New()
	w, err := age.Encrypt(io.MultiWriter(f, encSum), rs...)
	if err == nil {
		err = st.Stream(ctx, b, io.MultiWriter(w, clearSum))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("copy backup %s to the bastion encrypted: %w", b.Path, err)
	}
	if sum := hex.EncodeToString(clearSum.Sum(nil)); sum != b.SHA256 {
		return fleet.BackupInfo{}, fmt.Errorf("backup %s as copied from %s: sha256 %s, want %s", b.Path, e.spec.ToolsHost, sum, b.SHA256)
	}
	if err := os.Rename(tmp, lp); err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("encrypt backup %s: %w", b.Path, err)
	}
	b.LocalPath, b.Encrypted, b.EncryptedSHA256 = lp, true, hex.EncodeToString(encSum.Sum(nil))
	if err := db.Remove(ctx, b); err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("delete the clear dump once encrypted: %w", err)
	}
	e.note("backup encrypted to %d age recipient(s) on the bastion: %s; clear dump deleted on %s", len(rs), lp, e.spec.ToolsHost)
	return b, nil
}

// openEncryptedBackup checks the bastion's encrypted copy against its
// recorded checksum and opens it with the identity.
func (e *engine) openEncryptedBackup(b fleet.BackupInfo) (io.Reader, func(), error) {
	if e.spec.Backup.IdentityFile == "" {
		return nil, nil, fmt.Errorf("backup %s is encrypted (backup.encrypt_to) and restoring it needs the age identity: pass --identity FILE or set backup { identity_file = ... }", b.LocalPath)
	}
	ids, err := e.spec.Backup.identities()
	if err != nil {
		return nil, nil, err
	}
	if b.LocalPath == "" {
		return nil, nil, errors.New("the encrypted backup has no copy on the bastion recorded in the journal")
	}
	sum, err := filehash.SHA256(b.LocalPath)
	if err != nil {
		return nil, nil, err
	}
	if sum != b.EncryptedSHA256 {
		return nil, nil, fmt.Errorf("encrypted backup %s: sha256 %s, want %s", b.LocalPath, sum, b.EncryptedSHA256)
	}
	f, err := os.Open(b.LocalPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open encrypted backup: %w", err)
	}
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("decrypt backup %s with the identity in %s: %w", b.LocalPath, e.spec.Backup.IdentityFile, err)
	}
	return r, func() { f.Close() }, nil
}

// requireRestoreKey refuses, before the rollback touches any host, a
// rollback that must restore an encrypted backup it cannot decrypt.
func (e *engine) requireRestoreKey() error {
	if e.backup == nil || !e.backup.Encrypted {
		return nil
	}
	st := e.j.State()
	if st.Done("rollback/restore-db") || !phaseStarted(st, PhaseMigrateUp, e.spec) && !phaseStarted(st, PhaseMigrateFinish, e.spec) {
		return nil // the database is not restored
	}
	_, closeFn, err := e.openEncryptedBackup(*e.backup)
	if err != nil {
		return fmt.Errorf("rollback refused, nothing was stopped: %w", err)
	}
	closeFn()
	return nil
}

// stageEncryptedRestore decrypts the kept backup and writes it back to
// its path on the tools host for the restore; done deletes it there.
// Nothing to do for a backup kept in clear.
func (e *engine) stageEncryptedRestore(ctx context.Context, db fleet.Database) (done func(), err error) {
	b := *e.backup
	if !b.Encrypted {
		return func() {}, nil
	}
	st, ok := db.(fleet.BackupStreamer)
	if !ok {
		return nil, fmt.Errorf("restore backup %s: the database connection cannot stream it", b.Path)
	}
	r, closeFn, err := e.openEncryptedBackup(b)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	remove := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := db.Remove(rctx, b); err != nil {
			e.find(Finding{Severity: SevWarning, Code: "backup-clear-copy", Host: e.spec.ToolsHost,
				Message: e.red.err(fmt.Errorf("the decrypted dump was not deleted after the restore: %w", err)),
				Fix:     fmt.Sprintf("delete %s on %s", b.Path, e.spec.ToolsHost)})
		}
	}
	h := sha256.New()
	if err := st.Put(ctx, b, io.TeeReader(r, h)); err != nil {
		remove()
		return nil, fmt.Errorf("decrypt backup %s to %s: %w", b.LocalPath, e.spec.ToolsHost, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != b.SHA256 {
		remove()
		return nil, fmt.Errorf("decrypted backup %s: sha256 %s, want %s", b.LocalPath, sum, b.SHA256)
	}
	return remove, nil
}
