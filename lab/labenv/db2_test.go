package labenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A DB2 lab's second server: its own port, data and role, no database
// for Kong, the lab's network admitted; and only DB2 labs pay for it
// (their fingerprint differs, the others' stays).
func TestDB2EnvAndFingerprint(t *testing.T) {
	o := testOptions(t, Options{ID: 4, DB2: true})
	l := &Lab{st: &State{Options: o, Dir: o.Dir, DBData: filepath.Join(o.Dir, "db", "data"), DBPort: DBPort, Hosts: plan(o)}}
	env := l.db2Env()
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	want := map[string]string{"PG_PORT": "5433", "PG_DATA": filepath.Join(o.Dir, "db2", "data"), "DB_USER": DB2User, "DB_NAME": "postgres", "PG_ALLOW": l.dbClients()}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("db2 env %s=%q, want %q (%v)", k, last[k], v, env)
		}
	}
	if slices.Contains(l.dbEnv(), "PG_PORT=5433") {
		t.Error("the first server's env changed")
	}
	plain := testOptions(t, Options{ID: 4})
	if strings.Contains(plain.fingerprint(), "db2") || o.fingerprint() != plain.fingerprint()+" db2=true" {
		t.Errorf("fingerprints %q and %q", plain.fingerprint(), o.fingerprint())
	}
	l.st.Dir = t.TempDir()
	if err := os.WriteFile(l.DB2PasswordPath(), []byte("pw2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dsn, err := l.DB2DSN("kong_y"); err != nil || !strings.Contains(dsn, "kong_y:pw2@") || !strings.HasSuffix(dsn, ":5433/kong_y?sslmode=disable") {
		t.Errorf("DB2DSN = %q, %v", dsn, err)
	}
}
