package sshfleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/internal/shellquote"

	"github.com/kongctl/kongctl/sshremote"
)

func (n *agentNode) ReadConf(ctx context.Context) ([]byte, error) { return n.ReadFile(ctx, n.conf) }

// ReadFile returns the file at path on the host (fleet.FileCopier): cat
// as root, the content on the session's stdout, never logged.
func (n *agentNode) ReadFile(ctx context.Context, path string) ([]byte, error) {
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "cat -- " + shellquote.Quote(path), Become: true})
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", path, n.h.name, err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("read %s on %s: exit %d", path, n.h.name, r.ExitCode)
	}
	return r.Stdout, nil
}

// CreateFile writes b to path on the host, owner-only, making its
// directory, on the session's stdin (fleet.FileCopier). It never replaces
// what is there (noclobber): created is false when path existed.
func (n *agentNode) CreateFile(ctx context.Context, path string, b []byte) (bool, error) {
	q := shellquote.Quote(path)
	cmd := "if [ -e " + q + " ] || [ -L " + q + " ]; then exit 3; fi; umask 077; mkdir -p -- " + shellquote.Quote(filepath.Dir(path)) + " && set -C && cat > " + q
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: cmd, Stdin: strings.NewReader(string(b)), Become: true})
	if err != nil {
		return false, fmt.Errorf("create %s on %s: %w", path, n.h.name, err)
	}
	switch r.ExitCode {
	case 0:
		return true, nil
	case 3:
		return false, nil
	}
	return false, fmt.Errorf("create %s on %s: exit %d", path, n.h.name, r.ExitCode)
}

func (n *agentNode) WriteConf(ctx context.Context, b []byte) error {
	cmd := "umask 077; mkdir -p " + shellquote.Quote(filepath.Dir(n.conf)) + " && cat > " + shellquote.Quote(n.conf)
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: cmd, Stdin: strings.NewReader(string(b)), Become: true})
	if err != nil {
		return fmt.Errorf("write %s on %s: %w", n.conf, n.h.name, err)
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("write %s on %s: exit %d", n.conf, n.h.name, r.ExitCode)
	}
	return nil
}
