package sshremote

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// becomeCommand wraps cmd for running as b.User (default root) when logged
// in as loginUser. It returns the command line and the bytes to send on
// stdin before the caller's stdin (the password line, or nil). Secrets
// never appear in the command line.
func becomeCommand(b *Become, loginUser, cmd string) (string, []byte, error) {
	if b == nil {
		b = &Become{}
	}
	switch b.Method {
	case "", "sudo":
	default:
		return "", nil, fmt.Errorf("become method %q not supported (only sudo)", b.Method)
	}
	target := b.User
	if target == "" {
		target = "root"
	}
	if loginUser == target {
		return cmd, nil, nil
	}
	var sb strings.Builder
	var pre []byte
	if b.Password == nil {
		// -n: fail instead of prompting when a password would be needed.
		sb.WriteString("sudo -n")
	} else {
		if bytes.ContainsAny(b.Password, "\r\n") {
			return "", nil, errors.New("become password contains a newline")
		}
		// -k: ignore cached credentials, so sudo always reads the password
		// line and it never reaches the command's stdin. -S: read it from
		// stdin. -p '': no prompt on stderr.
		sb.WriteString("sudo -k -S -p ''")
		pre = make([]byte, 0, len(b.Password)+1)
		pre = append(append(pre, b.Password...), '\n')
	}
	if target != "root" {
		sb.WriteString(" -u " + shellquote.Quote(target))
	}
	sb.WriteString(" -- sh -c " + shellquote.Quote(cmd))
	return sb.String(), pre, nil
}

// become returns the command line and stdin for req on this host.
func (c *Client) become(req RunRequest) (string, io.Reader, error) {
	if !req.Become {
		return req.Cmd, req.Stdin, nil
	}
	cmd, pre, err := becomeCommand(c.cfg.Become, c.user, req.Cmd)
	if err != nil {
		return "", nil, err
	}
	if pre == nil {
		return cmd, req.Stdin, nil
	}
	stdin := req.Stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return cmd, io.MultiReader(bytes.NewReader(pre), stdin), nil
}
