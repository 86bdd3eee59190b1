package sshfleet

import (
	"context"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/agent/agentproto"
)

type agentDB struct {
	h    *agentHost
	conn agentproto.DBConn
	// target is the dual-cluster's target server (database_target.go):
	// conn's server, or the inventory's target_database object's.
	target agentproto.DBConn
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

func (d *agentDB) MigrationLock(ctx context.Context) (fleet.MigrationLock, error) {
	r, err := d.h.client().MigrationLock(ctx, agentproto.MigrationLockParams{DB: d.conn})
	if err != nil {
		return fleet.MigrationLock{}, err
	}
	return fleet.MigrationLock{Held: r.Held, Owner: r.Owner, Expires: r.TTL}, nil
}

func (d *agentDB) Close() error { return nil }
