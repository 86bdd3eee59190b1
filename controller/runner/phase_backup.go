package runner

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/internal/filehash"
)

// backupStep journals the backup taken before the stop.
const backupStep StepKey = "backup"

// backupPhase fingerprints Kong's tables, takes a pg_dump on the tools
// host, verifies it restores, and copies it to the bastion with its
// checksum. The backup is kept (never undone).
type backupPhase struct{}

func (backupPhase) name() PhaseName { return PhaseBackup }

func (backupPhase) run(ctx context.Context, e *engine) error {
	if stepDone(e.prior, backupStep) {
		if b := journaledBackup(e.prior, backupStep); b != nil {
			e.backup = b
			e.note("backup taken before resume: %s", b.Path)
		}
		return nil
	}
	err := e.step(ctx, PhaseBackup, backupStep, e.spec.ToolsHost, func(ctx context.Context) (any, error) {
		return e.backUp(ctx, "pre")
	})
	if err == nil {
		// Only now, with this run's backup verified and on the bastion.
		e.pruneBackups(ctx)
	}
	return err
}

// journaledBackup is the backup that step key journaled in st (the backup
// or the backup check), nil when st holds none.
func journaledBackup(st *journal.State, key StepKey) *fleet.BackupInfo {
	var b fleet.BackupInfo
	if !stepData(st, key, &b) || b.Path == "" {
		return nil
	}
	return &b
}

// backUp takes a backup (takeBackup) and makes it the run's backup, the
// one a rollback restores; the step journals what it returns.
func (e *engine) backUp(ctx context.Context, tag string) (any, error) {
	b, err := e.takeBackup(ctx, tag)
	if err != nil {
		return nil, err
	}
	e.backup = &b
	return b, nil
}

func (e *engine) takeBackup(ctx context.Context, tag string) (fleet.BackupInfo, error) {
	db, err := e.database(ctx)
	if err != nil {
		return fleet.BackupInfo{}, err
	}
	// Before the dump starts: a write between these counters and the
	// dump's snapshot shows after the stop (a retake for nothing), never
	// the other way round.
	sig, err := e.writeSignatureBeforeDump(ctx, db)
	if err != nil {
		return fleet.BackupInfo{}, err
	}
	b, err := db.Backup(ctx, e.backupRequest(tag))
	if err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("back up database on %s: %w", e.spec.ToolsHost, err)
	}
	if b.Fingerprint.Sum == "" {
		// A dump an earlier attempt of this step left carries none.
		if b.Fingerprint, err = db.Fingerprint(ctx); err != nil {
			return fleet.BackupInfo{}, fmt.Errorf("fingerprint database on %s: %w", e.spec.ToolsHost, err)
		}
	}
	b.WriteSignature = sig
	b.Taken = e.clk.Now()
	if err := db.VerifyRestore(ctx, b); err != nil {
		return fleet.BackupInfo{}, fmt.Errorf("verify backup %s restores on %s: %w", b.Path, e.spec.ToolsHost, err)
	}
	local := e.spec.Backup.LocalDir
	if local == "" && e.j != nil {
		local = e.j.Dir()
	}
	if len(e.spec.Backup.EncryptTo) > 0 {
		return e.storeEncrypted(ctx, db, b, local) // backupcrypt.go
	}
	if local != "" {
		lp := filepath.Join(local, filepath.Base(b.Path))
		if err := db.Fetch(ctx, b, lp); err != nil {
			return fleet.BackupInfo{}, fmt.Errorf("copy backup %s to the bastion: %w", b.Path, err)
		}
		sum, err := filehash.SHA256(lp)
		if err != nil {
			return fleet.BackupInfo{}, err
		}
		if sum != b.SHA256 {
			return fleet.BackupInfo{}, fmt.Errorf("backup copy %s: sha256 %s, want %s", lp, sum, b.SHA256)
		}
		b.LocalPath = lp
	}
	return b, nil
}

// backupRequest names the run's dump with tag (pre, retake, rehearsal).
func (e *engine) backupRequest(tag string) fleet.BackupRequest {
	return fleet.BackupRequest{Dir: e.spec.Backup.Dir, Name: fmt.Sprintf("kong-%s-%s", e.runID, tag)}
}
