package sshfleet

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/sshremote"
)

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
