package sshremote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// errGotKey stops a keyscan handshake once the host key is known.
var errGotKey = errors.New("host key received")

// ScanHostKey connects to cfg's host (cfg.Address, cfg.Port; no jump),
// reads the ed25519 host key the server presents and hangs up before
// authenticating, as `ssh-keyscan -t ed25519` does. The key is returned in
// authorized_keys form without a comment and is not checked: as with
// HostKeyProbe, the caller proves it. cfg.ConnectTimeout bounds the scan
// (default 20s).
func ScanHostKey(ctx context.Context, cfg *Config) (string, error) {
	addr := hostPort(cfg)
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = defaultConnectTimeout
	}
	var got ssh.PublicKey
	ccfg := &ssh.ClientConfig{
		User: "kongctl-keyscan",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = key
			return errGotKey
		},
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           timeout,
	}
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("ssh %s: keyscan: %w", hopLabel(cfg), err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	_, _, _, err = ssh.NewClientConn(conn, addr, ccfg)
	if got == nil {
		return "", fmt.Errorf("ssh %s: keyscan: %w", hopLabel(cfg), err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(got))), nil
}
