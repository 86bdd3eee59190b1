//go:build !nodeagent

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// caFile keeps c.CACert (the database's CA, sent by the controller from
// the bastion's database.ca_file) in <state>/pgca/<sha256>.crt and returns
// that path, "" when there is none. The file is named by its content, so
// a CA that changes gets a new file and concurrent ops never see a
// partial one (written aside, then renamed).
func (a *Agent) caFile(c agentproto.DBConn) (string, error) {
	if c.CACert == "" {
		return "", nil
	}
	sum := sha256.Sum256([]byte(c.CACert))
	dir := filepath.Join(a.StateDir, "pgca")
	p := filepath.Join(dir, hex.EncodeToString(sum[:])+".crt")
	if b, err := os.ReadFile(p); err == nil && string(b) == c.CACert {
		return p, nil
	}
	// Owner-only as every agent file (the CA is public, but the rule is
	// one): pg_dump and pg_restore run as the agent's user.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("keep the database CA: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".ca-*")
	if err != nil {
		return "", fmt.Errorf("keep the database CA: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(c.CACert)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return "", fmt.Errorf("keep the database CA in %s: %w", p, err)
	}
	return p, nil
}

// libpqEnv is pgEnv with the CA file of c, if any.
func (a *Agent) libpqEnv(c agentproto.DBConn) ([]string, error) {
	ca, err := a.caFile(c)
	if err != nil {
		return nil, err
	}
	return pgEnv(c, ca), nil
}
