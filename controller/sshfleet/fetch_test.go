package sshfleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/sshremote"
	"github.com/kongctl/kongctl/sshremote/sshtest"
)

// TestFetchStreamsBackupThroughBecome: the dump on the tools host is
// readable by root only, so a login user with become must read it through
// sudo, not over SFTP as itself. The copy lands owner-only, whole, and no
// partial file is left.
func TestFetchStreamsBackupThroughBecome(t *testing.T) {
	dump := bytes.Repeat([]byte("PGDMP kong\x00\x01"), 50000) // 600 kB, binary
	var cmds []string
	srv := sshtest.NewServer(t, &sshtest.Options{Handler: func(ctx context.Context, e *sshtest.Exec) int {
		cmds = append(cmds, e.Command)
		if e.User != "kongops" || !strings.HasPrefix(e.Command, "sudo -n -- sh -c ") || !strings.Contains(e.Command, "cat -- ") {
			e.Stderr.Write([]byte("cat: Permission denied\n"))
			return 1
		}
		if !strings.Contains(e.Command, "/var/backups/kongctl/kong-run-pre.dump") {
			e.Stderr.Write([]byte("cat: No such file or directory\n"))
			return 1
		}
		e.Stdout.Write(dump)
		return 0
	}})
	dir := t.TempDir()
	kh := srv.WriteKnownHosts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sshremote.Dial(ctx, &sshremote.Config{
		Name: "db", Address: srv.Host, Port: srv.Port, User: "kongops",
		KeyFiles: []string{srv.ClientKeyFile}, KnownHostsFiles: []string{kh},
		HostKeyPolicy: sshremote.HostKeyStrict, ConnectTimeout: 5 * time.Second,
		Become: &sshremote.Become{Method: "sudo"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := &agentDB{h: &agentHost{name: "db", ssh: c}}
	local := filepath.Join(dir, "backups", "kong-run-pre.dump")
	if err := d.Fetch(ctx, fleet.BackupInfo{Path: "/var/backups/kongctl/kong-run-pre.dump"}, local); err != nil {
		t.Fatalf("fetch: %v (commands %q)", err, cmds)
	}
	got, err := os.ReadFile(local)
	if err != nil || !bytes.Equal(got, dump) {
		t.Fatalf("copy differs from the dump (%d bytes, want %d): %v", len(got), len(dump), err)
	}
	if st, _ := os.Stat(local); st.Mode().Perm() != 0o600 {
		t.Errorf("copy mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat(local + ".partial"); !os.IsNotExist(err) {
		t.Errorf("partial file left behind: %v", err)
	}
	// A failing read is an error naming the host, and leaves no file.
	if err := d.Fetch(ctx, fleet.BackupInfo{Path: "/nonexistent"}, filepath.Join(dir, "x.dump")); err == nil || !strings.Contains(err.Error(), "from db") {
		t.Errorf("fetch of a missing dump: %v", err)
	}
}
