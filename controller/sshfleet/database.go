package sshfleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/internal/shellquote"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
)

type agentDB struct {
	h    *agentHost
	conn agentproto.DBConn
}

var _ fleet.Database = (*agentDB)(nil)

func toFingerprint(f agentproto.Fingerprint) fleet.Fingerprint {
	out := fleet.Fingerprint{Sum: f.SHA256, Tables: map[string]string{}}
	for _, t := range f.Tables {
		out.Tables[t.Name] = t.SHA256
	}
	return out
}

func (d *agentDB) Fingerprint(ctx context.Context) (fleet.Fingerprint, error) {
	f, err := d.h.client().DBFingerprint(ctx, agentproto.FingerprintParams{DB: d.conn})
	if err != nil {
		return fleet.Fingerprint{}, err
	}
	return toFingerprint(*f), nil
}

func (d *agentDB) WriteSignature(ctx context.Context, settle time.Duration, endFrom []string) (fleet.WriteSignature, error) {
	s, err := d.h.client().WriteSignature(ctx, agentproto.WriteSignatureParams{DB: d.conn, Settle: settle, EndFrom: endFrom})
	if err != nil {
		return fleet.WriteSignature{}, err
	}
	return fleet.WriteSignature{Usable: s.Usable, Settled: s.Settled, Tables: s.Tables, Server: s.Server, Transactions: s.Transactions, Others: s.Others, Waited: s.Waited, Ended: s.Ended, Note: s.Note}, nil
}

func (d *agentDB) Backup(ctx context.Context, req fleet.BackupRequest) (fleet.BackupInfo, error) {
	r, err := d.h.client().Backup(ctx, agentproto.BackupParams{DB: d.conn, Dir: req.Dir, Name: req.Name + ".dump", Format: agentproto.FormatCustom})
	if err != nil {
		return fleet.BackupInfo{}, err
	}
	b := fleet.BackupInfo{Path: r.Path, SHA256: r.SHA256, Size: r.Size}
	if r.Fingerprint != nil {
		// Taken in the dump's own snapshot: exactly what a restore gives
		// back, even when runtime tables changed while the dump started.
		b.Fingerprint = toFingerprint(*r.Fingerprint)
	}
	return b, nil
}

func (d *agentDB) VerifyRestore(ctx context.Context, b fleet.BackupInfo) error {
	_, err := d.h.client().VerifyRestore(ctx, agentproto.VerifyRestoreParams{DB: d.conn, Path: b.Path, SHA256: b.SHA256})
	return err
}

func (d *agentDB) Restore(ctx context.Context, b fleet.BackupInfo) error {
	_, err := d.h.client().Restore(ctx, agentproto.RestoreParams{DB: d.conn, Path: b.Path, SHA256: b.SHA256})
	return err
}

// Fetch copies the backup to the bastion. The dump is owner-only (root)
// on the tools host, so it is streamed through the host's become method
// (`cat` under sudo when the inventory logs in as another user), not read
// over SFTP as the login user. It lands in a temporary file that is
// fsync'd and renamed into place; the caller checks its SHA-256.
func (d *agentDB) Fetch(ctx context.Context, b fleet.BackupInfo, localPath string) error {
	if err := os.MkdirAll(filepath.Dir(localPath), 0o700); err != nil {
		return fmt.Errorf("copy backup from %s: %w", d.h.name, err)
	}
	tmp := localPath + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("copy backup from %s: %w", d.h.name, err)
	}
	defer os.Remove(tmp)
	err = d.stream(ctx, b, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, localPath)
	}
	if err != nil {
		return fmt.Errorf("copy backup %s from %s: %w", b.Path, d.h.name, err)
	}
	return nil
}

// Remove deletes the backup on the tools host through the host's become
// method (the dump is owner-only).
func (d *agentDB) Remove(ctx context.Context, b fleet.BackupInfo) error {
	r, err := d.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "rm -rf -- " + shellquote.Quote(b.Path), Become: true})
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("rm exited %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	if err != nil {
		return fmt.Errorf("delete backup %s on %s: %w", b.Path, d.h.name, err)
	}
	return nil
}

func (d *agentDB) MigrationLock(ctx context.Context) (fleet.MigrationLock, error) {
	r, err := d.h.client().MigrationLock(ctx, agentproto.MigrationLockParams{DB: d.conn})
	if err != nil {
		return fleet.MigrationLock{}, err
	}
	return fleet.MigrationLock{Held: r.Held, Owner: r.Owner, Expires: r.TTL}, nil
}

func (d *agentDB) Close() error { return nil }
