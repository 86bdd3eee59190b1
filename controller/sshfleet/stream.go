package sshfleet

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/sshremote"
)

// The backup's file on the tools host, owner-only root there: streamed to
// the bastion (Stream, or Fetch into a file), put back (Put) and deleted
// (Remove), all through the host's become method.

var _ fleet.BackupStreamer = (*agentDB)(nil)

// Stream copies the dump to w through the host's become method (the dump
// is owner-only root on the tools host).
func (d *agentDB) Stream(ctx context.Context, b fleet.BackupInfo, w io.Writer) error {
	if err := d.stream(ctx, b, w); err != nil {
		return fmt.Errorf("copy backup %s from %s: %w", b.Path, d.h.name, err)
	}
	return nil
}

func (d *agentDB) stream(ctx context.Context, b fleet.BackupInfo, w io.Writer) error {
	r, err := d.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "cat -- " + shellquote.Quote(b.Path), Become: true, Stdout: w})
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("cat %s exited %d: %s", b.Path, r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	return err
}

// Put writes r to b.Path through the host's become method: created 0600
// under umask 077 beside the final name, renamed into place when
// complete, so the agent never restores a partial dump.
func (d *agentDB) Put(ctx context.Context, b fleet.BackupInfo, r io.Reader) error {
	p, tmp := shellquote.Quote(b.Path), shellquote.Quote(path.Join(path.Dir(b.Path), "."+path.Base(b.Path)+".partial"))
	cmd := fmt.Sprintf("umask 077 && mkdir -p -- %s && cat > %s && mv -f -- %s %s", shellquote.Quote(path.Dir(b.Path)), tmp, tmp, p)
	res, err := d.h.conn().Run(ctx, sshremote.RunRequest{Cmd: cmd, Become: true, Stdin: r})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("write exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	if err != nil {
		return fmt.Errorf("write backup %s on %s: %w", b.Path, d.h.name, err)
	}
	return nil
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
