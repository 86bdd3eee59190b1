//go:build integration

package labenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// rowsLabID is the lab TestLabRowsBaseline brings up: $KONGCTL_LAB_ID when
// set (a developer's own lab), else the tests' main lab.
func rowsLabID(t *testing.T) int {
	if s := os.Getenv(EnvID); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", EnvID, s, err)
		}
		return id
	}
	return testLabMain
}

// TestLabRowsBaseline brings a 2-node lab up with Rows (and an SSH user
// that is not root, so the baseline goes through sudo), counts the rows the
// simulator's schema holds, checks that every node still serves, then runs
// the outage benchmark's baseline (lab/baseline/inplace.sh: the guide's
// commands over SSH) to Y on it: `kong migrations up` and `finish` must
// succeed on the rows, and every node must serve Y afterwards.
func TestLabRowsBaseline(t *testing.T) {
	const rows = 2000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pkgs := ensurePackages(t, PackageFile(EditionOSS, DefaultFromOSS), PackageFile(EditionOSS, DefaultToOSS))
	id := rowsLabID(t)
	dir, err := DefaultDir(id)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Up(ctx, Options{ID: id, Dir: dir, Nodes: 2, Rows: rows, User: "kongops", PackagesDir: pkgs, Log: testWriter{t}})
	t.Cleanup(func() {
		if err := DownID(context.Background(), id, dir, testWriter{t}); err != nil {
			t.Errorf("Down of lab %d: %v", id, err)
		}
	})
	if err != nil {
		t.Fatalf("Up with Rows %d: %v", rows, err)
	}

	count := func(query string) int {
		t.Helper()
		out, err := l.Exec(ctx, l.DBHost().Name, "runuser -u postgres -- psql -X -At -h /run/postgresql -d kong -c "+shellquote.Quote(query))
		if err != nil {
			t.Fatalf("%s: %v: %s", query, err, out)
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("%s: %q: %v", query, out, err)
		}
		return n
	}
	if n := count("SELECT count(*) FROM consumers WHERE 'lab-rows' = ANY(tags)"); n != rows {
		t.Errorf("consumers filled: %d, want %d", n, rows)
	}
	if n := count("SELECT count(*) FROM plugins p JOIN consumers c ON c.id = p.consumer_id WHERE p.name = 'rate-limiting'"); n != rows {
		t.Errorf("rate-limiting plugins of a consumer: %d, want %d", n, rows)
	}
	serves := func(version string) {
		t.Helper()
		for _, h := range l.KongHosts() {
			if out, err := l.Exec(ctx, h.Name, "kong version && curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/lab"); err != nil ||
				!strings.Contains(out, version) || !strings.HasSuffix(strings.TrimSpace(out), "200") {
				t.Errorf("host %s: want Kong %s serving /lab with 200, got %q (%v)", h.Name, version, out, err)
			}
		}
	}
	serves(DefaultFromOSS)

	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{filepath.Join(root, BaselineScript)}, l.BaselineArgs()...)
	cmd := exec.CommandContext(ctx, "bash", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("inplace.sh:\n%s", out)
	if err != nil {
		t.Fatalf("inplace.sh: %v\n%s", err, stderr.String())
	}
	for _, step := range []string{"stage", "backup", "stop", "install", "migrations-up", "migrations-finish", "start", "window"} {
		if !strings.Contains(string(out), "\n"+step+" ") && !strings.HasPrefix(string(out), step+" ") {
			t.Errorf("inplace.sh reported no %q step", step)
		}
	}
	serves(DefaultToOSS)
	if out, err := l.Exec(ctx, l.KongHosts()[0].Name, "kong migrations list -c /etc/kong/kong.conf"); err != nil {
		t.Errorf("kong migrations list after the baseline: %v\n%s", err, out)
	}
	if n := count("SELECT count(*) FROM plugins WHERE name = 'rate-limiting'"); n != rows {
		t.Errorf("rate-limiting plugins after the upgrade: %d, want %d", n, rows)
	}
	if out, err := l.Exec(ctx, l.DBHost().Name, "ls /var/backups/kong/*.dump"); err != nil {
		t.Errorf("the baseline's dump on the db host: %v %s", err, out)
	}
}
