//go:build integration

package agentclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
	"github.com/kongctl/kongctl/sshremote/sshtest"
)

// TestDeliverWithBecome sends the agent on the stdin of its session, run
// with sudo, which puts it into a root-only dir: nothing is staged where
// the login user writes (the test runs as root, so `sudo -n` needs no
// password).
func TestDeliverWithBecome(t *testing.T) {
	srv := sshtest.NewServer(t, nil)
	cfg := &sshremote.Config{
		Name: "kong-become", Address: srv.Host, Port: srv.Port, User: "kong", // not root: commands go through sudo
		KeyFiles:        []string{srv.ClientKeyFile},
		KnownHostsFiles: []string{srv.WriteKnownHosts(t)},
		ConnectTimeout:  5 * time.Second,
		Become:          &sshremote.Become{Method: "sudo"},
	}
	remote, err := sshremote.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"),
		Become: true, Binary: localBinary}
	d, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d.Uploaded == 0 || d.Hello.UID != 0 {
		t.Fatalf("delivery: %+v", d)
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 1 {
		t.Fatalf("agent dir holds %d files, want the agent alone", len(ents))
	}
	if fi, err := os.Stat(d.Path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("installed agent: %v %v", fi, err)
	}
	for _, c := range srv.Execs() {
		if !strings.HasPrefix(c, "sudo ") {
			t.Fatalf("command not run through sudo: %q", c)
		}
	}
	if n := len(srv.Execs()); n != 1 {
		t.Fatalf("%d commands, want the agent's session alone: %q", n, srv.Execs())
	}
	c := New(remote, opts)
	d2, err := c.Deliver(testCtx(t), nil)
	if err != nil || !d2.Skipped || d2.Uploaded != 0 {
		t.Fatalf("second delivery: %+v %v", d2, err)
	}
	res, err := c.Exec(testCtx(t), agentproto.ExecParams{Command: "id -u"})
	if err != nil || res.StdoutTail != "0\n" {
		t.Fatalf("exec via sudo: %+v %v", res, err)
	}
}
