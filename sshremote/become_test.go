package sshremote

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kongctl/kongctl/sshremote/sshtest"
)

func TestBecomeCommand(t *testing.T) {
	t.Parallel()
	cmd := `kong health && echo 'done'`
	q := `'kong health && echo '\''done'\'''`
	tests := []struct {
		name    string
		b       *Become
		login   string
		want    string
		wantPre string
	}{
		{"nopasswd", &Become{Method: "sudo"}, "kong", "sudo -n -- sh -c " + q, ""},
		{"nil become means sudo to root", nil, "kong", "sudo -n -- sh -c " + q, ""},
		{"password", &Become{Password: []byte("pw' x")}, "kong", "sudo -k -S -p '' -- sh -c " + q, "pw' x\n"},
		{"other user", &Become{User: "kong svc"}, "ops", "sudo -n -u 'kong svc' -- sh -c " + q, ""},
		{"root is a no-op", &Become{Password: []byte("pw")}, "root", cmd, ""},
		{"same user is a no-op", &Become{User: "kong"}, "kong", cmd, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pre, err := becomeCommand(tt.b, tt.login, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || string(pre) != tt.wantPre {
				t.Errorf("got %q pre %q\nwant %q pre %q", got, pre, tt.want, tt.wantPre)
			}
			if tt.b != nil && tt.b.Password != nil && strings.Contains(got, string(tt.b.Password)) {
				t.Errorf("password on the command line: %q", got)
			}
		})
	}
	if _, _, err := becomeCommand(&Become{Method: "doas"}, "kong", cmd); err == nil {
		t.Error("doas accepted")
	}
	if _, _, err := becomeCommand(&Become{Password: []byte("a\nb")}, "kong", cmd); err == nil {
		t.Error("password with a newline accepted")
	}
}

// fakeSudo emulates sudo's argument handling and -S password line, then
// runs the command, so the wrapping is exercised end to end.
const fakeSudo = `#!/bin/sh
pw=
while [ $# -gt 0 ]; do
  case "$1" in
    -S) IFS= read -r pw ;;
    -p|-u) shift ;;
    --) shift; break ;;
  esac
  shift
done
if [ "$pw" != "$WANT_PW" ]; then echo "fake sudo: bad password" >&2; exit 1; fi
exec "$@"
`

func TestBecomeRun(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var cmds, stdins []string
	const password = "s3cr'et pw"
	srv := sshtest.NewServer(t, &sshtest.Options{Handler: func(ctx context.Context, e *sshtest.Exec) int {
		in, _ := io.ReadAll(e.Stdin)
		mu.Lock()
		cmds = append(cmds, e.Command)
		stdins = append(stdins, string(in))
		mu.Unlock()
		e.Stdin = strings.NewReader(string(in))
		e.Env = append(e.Env, "PATH="+bin+":"+os.Getenv("PATH"), "WANT_PW="+password)
		return sshtest.ShellHandler(ctx, e)
	}})
	cfg := baseConfig(t, srv)
	cfg.Become = &Become{Method: "sudo", Password: []byte(password)}
	c := dial(t, cfg)
	ctx := testCtx(t)
	res, err := c.Run(ctx, RunRequest{Cmd: `printf '%s|' "it's"; cat`, Stdin: strings.NewReader("payload"), Become: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "it's|payload" || res.ExitCode != 0 {
		t.Errorf("stdout %q exit %d stderr %q, want \"it's|payload\" 0", got, res.ExitCode, res.Stderr)
	}
	if want := `sudo -k -S -p '' -- sh -c 'printf '\''%s|'\'' "it'\''s"; cat'`; cmds[0] != want {
		t.Errorf("command = %s\nwant      %s", cmds[0], want)
	}
	if strings.Contains(cmds[0], "s3cr") {
		t.Errorf("password in the command line: %s", cmds[0])
	}
	if stdins[0] != password+"\npayload" {
		t.Errorf("stdin = %q, want the password line then the payload", stdins[0])
	}

	// Without Become the command is untouched and no password is sent.
	if _, err := c.Run(ctx, RunRequest{Cmd: "true", Stdin: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if cmds[1] != "true" || stdins[1] != "x" {
		t.Errorf("plain run: cmd %q stdin %q", cmds[1], stdins[1])
	}
}
