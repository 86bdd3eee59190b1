package kongsim

import (
	"bufio"
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func names(ss Subsystem) []string {
	var out []string
	for _, m := range ss.Migrations {
		out = append(out, m.Name)
	}
	return out
}

func find(cat []Subsystem, name string) (Subsystem, bool) {
	for _, s := range cat {
		if s.Name == name {
			return s, true
		}
	}
	return Subsystem{}, false
}

// bootstrappedRows is schema_meta after `bootstrap` by rel.
func bootstrappedRows(rel Release) map[string]MetaRow {
	rows := map[string]MetaRow{}
	for _, ss := range rel.Catalogue("bundled") {
		n := names(ss)
		rows[ss.Name] = MetaRow{Subsystem: ss.Name, LastExecuted: n[len(n)-1], Executed: n}
	}
	return rows
}

func TestCoreCataloguePerVersion(t *testing.T) {
	cases := []struct {
		rel         Release
		n           int
		last        string
		hasTeardown []string
	}{
		{MustRelease("2.8.4", EditionOSS), 14, "015_270_to_280", []string{"005_120_to_130", "008_150_to_200", "009_200_to_210", "012_213_to_220"}},
		{MustRelease("3.4.2", EditionOSS), 19, "020_330_to_340", []string{"016_280_to_300"}},
		{MustRelease("3.9.1", EditionOSS), 23, "024_380_to_390", nil},
		{MustRelease("3.10.0.2", EditionEnterprise), 24, "025_390_to_3100", nil},
	}
	for _, c := range cases {
		core := c.rel.Catalogue("bundled")[0]
		if core.Name != "core" || len(core.Migrations) != c.n || core.Migrations[c.n-1].Name != c.last {
			t.Errorf("%s core: %d migrations ending %s", c.rel.Version, len(core.Migrations), core.Migrations[len(core.Migrations)-1].Name)
		}
		for _, m := range core.Migrations {
			if slices.Contains(c.hasTeardown, m.Name) && !m.HasTeardown {
				t.Errorf("%s %s should have a teardown", c.rel.Version, m.Name)
			}
		}
	}
}

// Reference 1.4 worked example: a 2.8 database, a 3.4 binary: 15 new
// migrations, 4 of them with a teardown (core 016, http-log 001, and
// post- and pre-function 001 per 9.4's correction).
func TestWorkedExample28To34(t *testing.T) {
	rel34 := MustRelease("3.4.2", EditionOSS)
	st := Classify(rel34.Catalogue("bundled"), bootstrappedRows(MustRelease("2.8.4", EditionOSS)), false)
	if got := Count(st.New); got != 15 {
		t.Fatalf("new = %d, want 15:\n%s", got, FormatSections(st.New))
	}
	var td []string
	for _, s := range st.New {
		for _, m := range s.Migrations {
			if m.HasTeardown {
				td = append(td, s.Subsystem+"/"+m.Name)
			}
		}
	}
	if !slices.Equal(td, []string{"core/016_280_to_300", "http-log/001_280_to_300", "post-function/001_280_to_300", "pre-function/001_280_to_300"}) {
		t.Fatalf("teardown migrations among new: %v", td)
	}
	if len(st.Pending) != 0 || len(st.Missing) != 0 || st.UpToDate() {
		t.Fatalf("unexpected state %+v", st)
	}
	// An older binary ignores names it does not know: up to date.
	old := Classify(MustRelease("2.8.4", EditionOSS).Catalogue("bundled"), bootstrappedRows(rel34), false)
	if !old.UpToDate() || Count(old.New) != 0 {
		t.Fatalf("2.8 on a 3.4 database: %+v", old)
	}
}

func TestEnterpriseCatalogue(t *testing.T) {
	cat := MustRelease("3.4.3.5", EditionEnterprise).Catalogue("bundled")
	if cat[1].Name != "enterprise" {
		t.Fatalf("second subsystem %s, want enterprise", cat[1].Name)
	}
	if _, ok := find(cat, "openid-connect"); !ok {
		t.Fatal("no openid-connect subsystem")
	}
	if _, ok := find(MustRelease("3.4.2", EditionOSS).Catalogue("bundled"), "enterprise"); ok {
		t.Fatal("OSS has an enterprise subsystem")
	}
	if cat := MustRelease("3.4.2", EditionOSS).Catalogue("off"); len(cat) != 1 {
		t.Fatalf("plugins=off gives %d subsystems", len(cat))
	}
}

func TestClassifyPendingMissing(t *testing.T) {
	cat := []Subsystem{{Name: "core", Migrations: []Migration{{Name: "a"}, {Name: "b", HasTeardown: true}, {Name: "c"}, {Name: "d"}}}}
	rows := map[string]MetaRow{"core": {Subsystem: "core", LastExecuted: "c", Executed: []string{"a", "c"}, Pending: []string{"b"}}}
	st := Classify(cat, rows, false)
	if Count(st.Executed) != 2 || Count(st.Pending) != 1 || Count(st.New) != 1 || Count(st.Missing) != 0 {
		t.Fatalf("%+v", st)
	}
	rows["core"] = MetaRow{Subsystem: "core", LastExecuted: "c", Executed: []string{"c"}}
	st = Classify(cat, rows, false)
	if got := st.Missing[0].Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("missing %v", got)
	}
	// No row at all: everything is new; an empty table is not needs_bootstrap.
	st = Classify(cat, map[string]MetaRow{}, false)
	if Count(st.New) != 4 || st.NeedsBootstrap {
		t.Fatalf("%+v", st)
	}
}

func TestFormatSectionsRightAligned(t *testing.T) {
	got := FormatSections([]Section{
		{Subsystem: "core", Migrations: []Migration{{Name: "000_base"}, {Name: "003_100_to_110"}}},
		{Subsystem: "rate-limiting", Migrations: []Migration{{Name: "000_base_rate_limiting"}}},
	})
	want := "         core: 000_base, 003_100_to_110\nrate-limiting: 000_base_rate_limiting"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatList(t *testing.T) {
	ex := []Section{{Subsystem: "core", Migrations: []Migration{{Name: "000_base"}}}}
	nw := []Section{{Subsystem: "with-migrations", Migrations: []Migration{{Name: "000_base_with_migrations"}, {Name: "001_14_to_15"}}}}
	pe := []Section{{Subsystem: "core", Migrations: []Migration{{Name: "016_280_to_300"}}}}
	cases := []struct {
		name string
		st   State
		code int
		out  string
		warn bool
	}{
		{"needs bootstrap", State{NeedsBootstrap: true}, 3, NeedsBootstrapMsg + "\n", false},
		{"up to date", State{Executed: ex}, 0, "Executed migrations:\ncore: 000_base\n", false},
		{"new only (spec example)", State{Executed: ex, New: nw}, 5,
			"Executed migrations:\ncore: 000_base\n\nNew migrations available:\nwith-migrations: 000_base_with_migrations, 001_14_to_15\n\nRun 'kong migrations up' to proceed\n", false},
		{"pending only", State{Executed: ex, Pending: pe}, 4,
			"Executed migrations:\ncore: 000_base\n\nPending migrations:\ncore: 016_280_to_300\n\nRun 'kong migrations finish' when ready\n", false},
		{"pending and new", State{Executed: ex, Pending: pe, New: nw}, 4,
			"Executed migrations:\ncore: 000_base\n\nPending migrations:\ncore: 016_280_to_300\n\nNew migrations available:\nwith-migrations: 000_base_with_migrations, 001_14_to_15\n\n\nRun 'kong migrations finish' when ready to complete pending migrations (postgres database will be incompatible with the previous Kong version)\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := FormatList(c.st, "postgres", "3.4.2")
			if r.Code != c.code || r.Stdout != c.out || (r.Stderr != "") != c.warn {
				t.Fatalf("code %d (want %d)\n%q\nwant\n%q\nwarn %q", r.Code, c.code, r.Stdout, c.out, r.Stderr)
			}
		})
	}
	if !strings.HasSuffix(NeedsBootstrapMsg, "\n\n") || !strings.Contains(NeedsBootstrapMsg, "migrated to Kong 1.5.0 first. \n") {
		t.Fatal("NEEDS_BOOTSTRAP_MSG shape")
	}
}

func TestStatusJSON(t *testing.T) {
	js, err := StatusJSON(State{Executed: []Section{{Subsystem: "core", Namespace: "kong.db.migrations.core", Migrations: []Migration{{Name: "000_base"}}}}})
	if err != nil || js != `{"executed_migrations":[{"subsystem":"core","namespace":"kong.db.migrations.core","migrations":["000_base"]}],"needs_bootstrap":false}` {
		t.Fatalf("%s %v", js, err)
	}
	if _, err := StatusJSON(State{Missing: []Section{{Subsystem: "core", Migrations: []Migration{{Name: "x"}}}}}); err == nil {
		t.Fatal("missing migrations should fail to encode")
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "kong.conf")
	os.WriteFile(conf, []byte("# comment\npg_host = db.example  # trailing\nPG_PASSWORD = a\\#b\nprefix = /srv/kong/\nplugins = bundled,my-plugin\n"), 0o644)
	rel := MustRelease("3.4.2", EditionOSS)
	c, err := rel.LoadConfig(ConfigArgs{ConfPath: conf, Prefix: "/p"}, []string{"KONG_PG_PORT=6543", "KONG_PREFIX=/env", "OTHER=x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pg_host": "db.example", "pg_password": "a#b", "pg_port": "6543", "prefix": "/p", "pg_database": "kong", "status_listen": "off", "role": "traditional"}
	for k, v := range want {
		if c.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, c.Get(k), v)
		}
	}
	if c.Schema() != "public" {
		t.Errorf("schema %q", c.Schema())
	}
	c, _ = rel.LoadConfig(ConfigArgs{ConfPath: conf, DBTimeout: "2.5"}, []string{"KONG_PREFIX=/env/"})
	if c.Prefix() != "/env" || c.Get("pg_timeout") != "2500" {
		t.Errorf("prefix %q pg_timeout %q", c.Prefix(), c.Get("pg_timeout"))
	}
	if MustRelease("3.9.1", EditionOSS).Defaults()["status_listen"] != "127.0.0.1:8007 reuseport backlog=16384" {
		t.Error("3.6+ status_listen default")
	}
	if _, err := rel.LoadConfig(ConfigArgs{ConfPath: filepath.Join(dir, "nope")}, nil); err == nil || !strings.Contains(err.Error(), "no file at") {
		t.Errorf("missing -c file: %v", err)
	}
	_, err = ParseConf(bufio.NewScanner(strings.NewReader("novalue\n")), "x")
	if err == nil {
		t.Error("line without = accepted")
	}
}

func TestValidate(t *testing.T) {
	rel := MustRelease("3.4.2", EditionOSS)
	c := &Config{Values: rel.Defaults()}
	if errs := rel.Validate(c); len(errs) != 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	c.Values["pg_ssl_version"] = "tlsv1"
	c.Values["role"] = "data_plane"
	c.Values["proxy_listen"] = "nonsense"
	errs := rel.Validate(c)
	if len(errs) != 3 {
		t.Fatalf("want 3 errors, got %q", errs)
	}
	c28 := &Config{Values: MustRelease("2.8.4", EditionOSS).Defaults()}
	c28.Values["pg_ssl_version"] = "tlsv1"
	if errs := MustRelease("2.8.4", EditionOSS).Validate(c28); len(errs) != 0 {
		t.Fatalf("2.8 rejects tlsv1: %v", errs)
	}
}

func TestParseListen(t *testing.T) {
	ls, err := ParseListen("proxy_listen", "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl, [::1]:9000")
	if err != nil {
		t.Fatal(err)
	}
	if got := PlainListeners(ls); !slices.Equal(got, []string{"0.0.0.0:8000", "[::1]:9000"}) {
		t.Fatalf("%v", got)
	}
	if ls, _ := ParseListen("status_listen", "off"); ls != nil {
		t.Fatal("off should be empty")
	}
	if _, err := ParseListen("admin_listen", "8001"); err == nil {
		t.Fatal("port alone accepted")
	}
}

func TestCompatibleDP(t *testing.T) {
	cp := MustRelease("3.9.1", EditionOSS)
	for dp, want := range map[string]bool{"3.9.0": true, "3.8.1": true, "3.7.0": true, "3.10.0.2-enterprise-edition": false, "2.8.4": false, "3.4.2": true} {
		if got := cp.CompatibleDP(dp); got != want {
			t.Errorf("CP 3.9 DP %s: %v want %v", dp, got, want)
		}
	}
}

func TestRouterRegexSemantics(t *testing.T) {
	svc := Service{ID: "s", Host: "echo.internal"}
	name := "r"
	k := &KongConfig{Services: []Service{svc}, Routes: []Route{
		{ID: "re", Name: &name, Service: &Ref{ID: "s"}, Paths: []string{"~/users/\\d+$"}, StripPath: true},
		{ID: "legacy", Service: &Ref{ID: "s"}, Paths: []string{"/items/\\d+"}},
		{ID: "plain", Service: &Ref{ID: "s"}, Paths: []string{"/api"}, Methods: []string{"GET"}, StripPath: true},
		{ID: "host", Service: &Ref{ID: "s"}, Hosts: []string{"*.example.com"}},
	}}
	r3 := NewRouter(MustRelease("3.4.2", EditionOSS), k)
	r2 := NewRouter(MustRelease("2.8.4", EditionOSS), k)
	route := func(r *Router, method, host, path string) string {
		req := httptest.NewRequest(method, "http://"+host+path, nil)
		m, ok := r.Route(req)
		if !ok {
			return ""
		}
		return m.Route.ID
	}
	checks := []struct {
		r                  *Router
		method, host, path string
		want               string
	}{
		{r3, "GET", "x", "/users/42", "re"},
		{r3, "GET", "x", "/items/7", ""},       // 3.x: no ~, plain prefix "/items/\d+"
		{r2, "GET", "x", "/items/7", "legacy"}, // 2.x: regex characters make a regex
		{r2, "GET", "x", "/users/42", ""},      // 2.x: "~/..." is a plain path
		{r3, "GET", "x", "/api/v1", "plain"},
		{r3, "POST", "x", "/api/v1", ""},
		{r3, "GET", "a.example.com", "/zzz", "host"},
		{r3, "GET", "example.org", "/zzz", ""},
	}
	for _, c := range checks {
		if got := route(c.r, c.method, c.host, c.path); got != c.want {
			t.Errorf("%s %s%s: %q want %q", c.method, c.host, c.path, got, c.want)
		}
	}
	p := "/base"
	svc.Path = &p
	m := &Match{Route: &k.Routes[2], Service: &svc, Stripped: "/v1"}
	if got := upstreamPath(m, "/api/v1"); got != "/base/v1" {
		t.Errorf("upstream path %q", got)
	}
}

func TestCLIWithoutDatabase(t *testing.T) {
	run := func(version, edition string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), Build{Version: version, Edition: edition}, append([]string{"kong"}, args...), nil, Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		return out.String(), errb.String(), code
	}
	if out, _, code := run("3.4.2", "oss", "version"); out != "3.4.2\n" || code != 0 {
		t.Errorf("version: %q %d", out, code)
	}
	if out, _, _ := run("3.4.3.5", "enterprise", "version"); out != "Kong Enterprise 3.4.3.5\n" {
		t.Errorf("EE version: %q", out)
	}
	if out, _, _ := run("3.10.0.2", "enterprise", "version", "-a"); !strings.HasPrefix(out, "Kong Enterprise: 3.10.0.2\n") {
		t.Errorf("EE version -a: %q", out)
	}
	if _, errOut, code := run("3.4.2", "oss", "frobnicate"); code != 1 || !strings.HasPrefix(errOut, "No such command: frobnicate\n") {
		t.Errorf("unknown command: %q %d", errOut, code)
	}
	if _, errOut, code := run("3.4.2", "oss", "migrations", "nope"); code != 1 || errOut != "No such command for migrations: nope\n" {
		t.Errorf("unknown sub: %q %d", errOut, code)
	}
	if _, errOut, code := run("2.8.4", "oss", "migrations", "status"); code != 1 || errOut != "No such command for migrations: status\n" {
		t.Errorf("2.8 status: %q %d", errOut, code)
	}
	if _, _, code := run("3.4.2", "oss", "migrations", "list", "-v"); code != 1 {
		t.Errorf("-v accepted: %d", code)
	}
	if out, errOut, code := run("3.4.2", "oss", "start", "--help"); code != 1 || out != "" || !strings.Contains(errOut, "Usage: kong start") {
		t.Errorf("--help: %q %d", errOut, code)
	}
	if _, _, code := run("3.4.2", "oss", "drain"); code != 1 {
		t.Error("drain exists before 3.9")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "kong.conf")
	os.WriteFile(conf, []byte("pg_port = 1\npg_timeout = 500\nprefix = "+dir+"/p\n"), 0o644)
	_, errOut, code := run("3.4.2", "oss", "migrations", "list", "-c", conf)
	if code != 1 || !strings.HasPrefix(errOut, "Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused\n\n  Run with --v") {
		t.Errorf("unreachable db: %q %d", errOut, code)
	}
	if out, _, code := run("3.4.2", "oss", "check", conf); code != 0 || out != "configuration at "+conf+" is valid\n" {
		t.Errorf("check: %q %d", out, code)
	}
	if _, errOut, code := run("3.4.2", "oss", "migrations", "reset", "-p", dir, "-c", conf); code != 1 || !strings.Contains(errOut, "not a tty: invoke 'reset' non-interactively with the --yes flag") {
		t.Errorf("reset no tty: %q", errOut)
	}
	os.WriteFile(conf, []byte("role = banana\n"), 0o644)
	if _, errOut, code := run("3.4.2", "oss", "check", conf); code != 1 || !strings.Contains(errOut, "[error] role has an invalid value: 'banana'") {
		t.Errorf("check invalid: %q %d", errOut, code)
	}
	if _, errOut, code := run("3.4.2", "oss", "stop", "-p", filepath.Join(dir, "missing")); code != 1 || !strings.HasPrefix(errOut, "Error: no such prefix: "+filepath.Join(dir, "missing")) {
		t.Errorf("stop missing prefix: %q", errOut)
	}
	if _, errOut, code := run("3.4.2", "oss", "stop", "-p", dir); code != 1 || !strings.HasPrefix(errOut, "Error: nginx not running in prefix: "+dir) {
		t.Errorf("stop not running: %q", errOut)
	}
	if _, errOut, code := run("3.4.2", "oss", "health", "-p", dir); code != 1 || !strings.HasPrefix(errOut, "Error: Kong is not running at "+dir) {
		t.Errorf("health not running: %q", errOut)
	}
}

func TestFaultsFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FaultFile), []byte("# x\nFAKE_KONG_CRASH_AFTER=3\nFAKE_KONG_SLOW=0.5\nFAKE_KONG_REFUSE_START=1\nFAKE_KONG_CLUSTER_PING=0.1\n"), 0o644)
	f := loadFaults(dir, []string{"FAKE_KONG_CRASH_AFTER=5", "FAKE_KONG_MIGRATION_FAIL=016_280_to_300"})
	if f.CrashAfter != 5 || f.Slow.Seconds() != 0.5 || !f.RefuseStart || f.MigrationFail != "016_280_to_300" || f.Start5xx || f.ClusterPing.Milliseconds() != 100 {
		t.Fatalf("%+v", f)
	}
	if f := loadFaults(t.TempDir(), nil); f.CrashAfter != -1 || f.RefuseStart {
		t.Fatalf("defaults %+v", f)
	}
}

func TestLoadTimeout(t *testing.T) {
	for rows, want := range map[int64]time.Duration{
		-1:        5 * time.Second, // never analyzed
		0:         5 * time.Second,
		200000:    25 * time.Second,
		100000000: time.Minute,
	} {
		if got := loadTimeout(rows); got != want {
			t.Errorf("loadTimeout(%d) = %s, want %s", rows, got, want)
		}
	}
}
