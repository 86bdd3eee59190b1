package sshfleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/internal/shellquote"

	"github.com/kongctl/kongctl/sshremote"
)

func (n *agentNode) ReadConf(ctx context.Context) ([]byte, error) {
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "cat " + shellquote.Quote(n.conf), Become: true})
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", n.conf, n.h.name, err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("read %s on %s: exit %d", n.conf, n.h.name, r.ExitCode)
	}
	return r.Stdout, nil
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
