package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// What `systemctl show kong.service -p Environment -p EnvironmentFiles -p
// ExecStartPre -p DropInPaths -p FragmentPath` prints for Kong's packaged
// unit (kong-reference 9.2) with a drop-in and an environment file.
const showOut = `Environment=KONG_NGINX_DAEMON=off "KONG_NGINX_HTTP_OUTPUT_BUFFERS=4 64k" KONG_PG_HOST=unit-host KONG_PG_PASSWORD=dropin-secret KONG_PG_USER=unit-user
EnvironmentFiles=/etc/kong/kong_env.conf (ignore_errors=no)
EnvironmentFiles=/etc/kong/optional.env (ignore_errors=yes)
ExecStartPre={ path=/usr/local/bin/kong ; argv[]=/usr/local/bin/kong prepare -p /srv/kong -c /etc/kong/other.conf ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
DropInPaths=/etc/systemd/system/kong.service.d/db.conf
FragmentPath=/lib/systemd/system/kong.service
`

func fakeFiles(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return []byte(b), nil
		}
		return nil, fmt.Errorf("open %s: %w", p, os.ErrNotExist)
	}
}

var unitFiles = map[string]string{
	"/lib/systemd/system/kong.service":           "[Service]\nEnvironment=KONG_NGINX_DAEMON=off\nEnvironment=KONG_PG_HOST=unit-host \"KONG_NGINX_HTTP_OUTPUT_BUFFERS=4 64k\" KONG_PG_USER=unit-user\nExecStartPre=/usr/local/bin/kong prepare -p /usr/local/kong\n",
	"/etc/systemd/system/kong.service.d/db.conf": "[Service]\nEnvironment=KONG_PG_PASSWORD=dropin-secret\n",
	"/etc/kong/kong_env.conf":                    "# database\nKONG_PG_HOST=file-host\nKONG_PG_DATABASE=\"kong_prod\"\nNOT_KONG=x\n",
}

// EnvironmentFile= wins over Environment= (systemd.exec(5)); each
// variable is attributed to the file that set it; -c/-p come from
// ExecStartPre; an optional missing file is skipped.
func TestParseSystemdShow(t *testing.T) {
	e, err := parseSystemdShow("kong.service", showOut, fakeFiles(unitFiles))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"KONG_NGINX_DAEMON": "off", "KONG_NGINX_HTTP_OUTPUT_BUFFERS": "4 64k", "KONG_PG_USER": "unit-user",
		"KONG_PG_PASSWORD": "dropin-secret", "KONG_PG_HOST": "file-host", "KONG_PG_DATABASE": "kong_prod",
	}
	if !reflect.DeepEqual(e.Vars, want) {
		t.Errorf("vars = %v, want %v", e.Vars, want)
	}
	from := map[string]string{
		"KONG_PG_HOST":     "file /etc/kong/kong_env.conf",
		"KONG_PG_PASSWORD": "drop-in /etc/systemd/system/kong.service.d/db.conf",
		"KONG_PG_USER":     "unit /lib/systemd/system/kong.service",
	}
	for k, w := range from {
		if e.From[k] != w {
			t.Errorf("%s from %q, want %q", k, e.From[k], w)
		}
	}
	if e.Conf != "/etc/kong/other.conf" || e.Prefix != "/srv/kong" || e.Source != "systemd unit kong.service" {
		t.Errorf("conf %q prefix %q source %q", e.Conf, e.Prefix, e.Source)
	}
	if got := e.childEnv(); len(got) != 6 || got[0] != "KONG_NGINX_DAEMON=off" {
		t.Errorf("childEnv = %v", got)
	}
	if s := e.secrets(); len(s) != 1 || s[0] != "dropin-secret" {
		t.Errorf("secrets = %v", s)
	}
}

// A unit that prepares Kong with another -c or -p than kongctl's is an
// error naming the inventory attribute to set; trailing slashes do not count.
func TestUnitFlagsDiffer(t *testing.T) {
	e := &serviceEnv{Source: "systemd unit kong.service", Conf: "/etc/kong/other.conf", Prefix: "/usr/local/kong"}
	if err := e.flagsDiffer("/etc/kong/kong.conf", "/usr/local/kong/"); err == nil || !strings.Contains(err.Error(), "-c /etc/kong/other.conf, not /etc/kong/kong.conf: set the inventory's upgrade.kong_conf") {
		t.Errorf("conf: %v", err)
	}
	if err := e.flagsDiffer("/etc/kong/other.conf", "/srv/kong"); err == nil || !strings.Contains(err.Error(), "upgrade.prefix to /usr/local/kong") {
		t.Errorf("prefix: %v", err)
	}
	if err := e.flagsDiffer("/etc/kong/other.conf", "/usr/local/kong/"); err != nil {
		t.Errorf("same flags: %v", err)
	}
	if err := (&serviceEnv{}).flagsDiffer("/etc/kong/kong.conf", "/usr/local/kong"); err != nil {
		t.Errorf("no flags in the unit: %v", err)
	}
}

// A node whose effective configuration cannot be read is an error that
// names what is missing.
func TestParseSystemdShowMissing(t *testing.T) {
	files := map[string]string{}
	for k, v := range unitFiles {
		files[k] = v
	}
	delete(files, "/etc/kong/kong_env.conf")
	if _, err := parseSystemdShow("kong.service", showOut, fakeFiles(files)); err == nil || !strings.Contains(err.Error(), "EnvironmentFile /etc/kong/kong_env.conf") {
		t.Errorf("missing EnvironmentFile: %v", err)
	}
	if _, err := parseSystemdShow("kong.service", "Environment=\nFragmentPath=\n", fakeFiles(files)); err == nil || !strings.Contains(err.Error(), "no unit file") {
		t.Errorf("no unit: %v", err)
	}
	delete(files, "/etc/systemd/system/kong.service.d/db.conf")
	if _, err := parseSystemdShow("kong.service", showOut, fakeFiles(files)); err == nil || !strings.Contains(err.Error(), "db.conf") {
		t.Errorf("unreadable drop-in: %v", err)
	}
}

func TestSplitQuotedAndEnvFile(t *testing.T) {
	got := splitQuoted(`A=1 "B=two words" 'C=x y' D=a\ b`)
	if want := []string{"A=1", "B=two words", "C=x y", "D=a b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("splitQuoted = %q", got)
	}
	env := parseEnvFile([]byte("# c\n; c\n\nKONG_A=1\nexport KONG_B='two'\n KONG_C = \"3\" \nbad line\n"))
	if want := map[string]string{"KONG_A": "1", "KONG_B": "two", "KONG_C": "3"}; !reflect.DeepEqual(env, want) {
		t.Errorf("parseEnvFile = %v", env)
	}
	if got := parseEnviron([]byte("PATH=/bin\x00KONG_PG_HOST=h=1\x00\x00")); got["KONG_PG_HOST"] != "h=1" || got["PATH"] != "/bin" {
		t.Errorf("parseEnviron = %v", got)
	}
	c, p := kongFlags("{ path=/usr/bin/kong ; argv[]=/usr/bin/kong prepare --conf=/a.conf --prefix /p ; ignore_errors=no }", "", "")
	if c != "/a.conf" || p != "/p" {
		t.Errorf("kongFlags = %q %q", c, p)
	}
	if c, p := kongFlags("{ path=/bin/true ; argv[]=/bin/true -c x ; }", "", ""); c != "" || p != "" {
		t.Errorf("a non-kong ExecStartPre gave %q %q", c, p)
	}
}

// defaults < kong.conf < environment, with the source of each database
// setting, and the password's value never in the facts.
func TestEffectiveConfPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "kong.conf")
	os.WriteFile(conf, []byte("pg_host = decoy\npg_database = decoy\npg_user = conf-user\n"), 0o600)
	envFile := filepath.Join(dir, "kong_env.conf")
	os.WriteFile(envFile, []byte("KONG_PG_HOST=real-host\nKONG_PG_PASSWORD=s3cret-env\n"), 0o600)
	a := testAgent(t)
	run := newOpRun(a, nil)
	c, env, cerr, eerr := a.effectiveConf(t.Context(), run, svcRef{Manager: agentproto.ManagerKongCLI, EnvFile: envFile, Prefix: filepath.Join(dir, "prefix")}, conf)
	if cerr != nil || eerr != nil {
		t.Fatal(cerr, eerr)
	}
	f := c.facts("3.4.2")
	if f.DB.Host != "real-host" || f.DB.Name != "decoy" || f.DB.User != "conf-user" || f.DB.Port != 5432 || !f.HasPGPassword {
		t.Errorf("db = %+v", f.DB)
	}
	want := map[string]string{"pg_host": "environment (file " + envFile + ")", "pg_database": "kong.conf " + conf, "pg_port": "default", "pg_password": "environment (file " + envFile + ")"}
	for k, w := range want {
		if f.DBSources[k] != w {
			t.Errorf("%s from %q, want %q", k, f.DBSources[k], w)
		}
	}
	if f.EnvSource != "file "+envFile || !containsStr(run.secrets, "s3cret-env") || len(env.childEnv()) != 2 {
		t.Errorf("source %q secrets %v env %v", f.EnvSource, run.secrets, env.childEnv())
	}
	_, _, _, eerr = a.effectiveConf(t.Context(), run, svcRef{Manager: agentproto.ManagerKongCLI, EnvFile: filepath.Join(dir, "gone.env")}, conf)
	if eerr == nil || !strings.Contains(eerr.Error(), "gone.env") {
		t.Errorf("missing env file: %v", eerr)
	}
}

// A running kong-cli node: its nginx master's environment wins over the
// named file (it is what Kong serves with).
func TestServiceEnvFromRunningProcess(t *testing.T) {
	prefix := t.TempDir()
	cmd := exec.Command("sleep", "30")
	cmd.Env = []string{"KONG_PG_HOST=proc-host", "KONG_PG_PASSWORD=proc-secret", "HOME=/"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	os.MkdirAll(filepath.Join(prefix, "pids"), 0o755)
	os.WriteFile(filepath.Join(prefix, "pids", "nginx.pid"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644)
	envFile := filepath.Join(prefix, "env")
	os.WriteFile(envFile, []byte("KONG_PG_HOST=file-host\n"), 0o600)
	a := testAgent(t)
	e, err := a.readServiceEnv(t.Context(), newOpRun(a, nil), svcRef{Manager: agentproto.ManagerKongCLI, EnvFile: envFile, Prefix: prefix}, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	if e.Vars["KONG_PG_HOST"] != "proc-host" || e.Source != fmt.Sprintf("process %d", cmd.Process.Pid) || len(e.Vars) != 2 {
		t.Errorf("env = %+v", e)
	}
}

// kong migrations gets the service's environment in its own environment,
// never in argv, and the password found there is redacted from the reply.
func TestMigrationsUseServiceEnv(t *testing.T) {
	dir, kong, envFile := kongWithEnvFile(t, "echo \"Error: could not connect to $KONG_PG_HOST as $KONG_PG_PASSWORD\" >&2",
		"KONG_PG_HOST=env-db-host\nKONG_PG_PASSWORD=env-pw-77aa\n")
	a := testAgent(t)
	var argvs [][]string
	var keys [][]string
	a.Trace = func(argv, envKeys []string) { argvs = append(argvs, argv); keys = append(keys, envKeys) }
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerKongCLI, EnvFile: envFile, Prefix: filepath.Join(dir, "p")}))
	if strings.Contains(raw, "env-pw-77aa") {
		t.Fatalf("reply leaks the env password: %s", raw)
	}
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "env-db-host") {
		t.Fatalf("kong did not see KONG_PG_HOST: %+v", rep.Error)
	}
	for i, argv := range argvs {
		if strings.Contains(strings.Join(argv, " "), "env-") {
			t.Errorf("argv carries the environment: %q", argv)
		}
		if argv[0] == kong && !reflect.DeepEqual(keys[i], []string{"KONG_PG_HOST", "KONG_PG_PASSWORD"}) {
			t.Errorf("env keys = %v", keys[i])
		}
	}
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerKongCLI, EnvFile: filepath.Join(dir, "missing.env")}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "missing.env") {
		t.Fatalf("missing env file: %+v", rep.Error)
	}
}

// On a systemd node the agent asks systemctl for the unit's environment
// (here a fake systemctl printing what systemd prints for a unit with a
// drop-in and an EnvironmentFile=): kong migrations gets the file's value,
// which wins over Environment=, in its environment.
func TestMigrationsUseSystemdUnitEnv(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "kong.service")
	dropIn := filepath.Join(dir, "db.conf")
	envFile := filepath.Join(dir, "kong_env.conf")
	os.WriteFile(unit, []byte("[Service]\nEnvironment=KONG_NGINX_DAEMON=off KONG_PG_HOST=unit-host\n"), 0o644)
	os.WriteFile(dropIn, []byte("[Service]\nEnvironment=KONG_PG_USER=dropin-user\n"), 0o644)
	os.WriteFile(envFile, []byte("KONG_PG_HOST=file-host\n"), 0o600)
	show := "Environment=KONG_NGINX_DAEMON=off KONG_PG_HOST=unit-host KONG_PG_USER=dropin-user\n" +
		"EnvironmentFiles=" + envFile + " (ignore_errors=no)\n" +
		"ExecStartPre={ path=/usr/local/bin/kong ; argv[]=/usr/local/bin/kong prepare -p /usr/local/kong ; ignore_errors=no }\n" +
		"DropInPaths=" + dropIn + "\nFragmentPath=" + unit + "\n"
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\n[ \"$1 $2\" = \"show kong.service\" ] || exit 1\ncat <<'EOF'\n"+show+"EOF\n"), 0o755)
	kong := filepath.Join(bin, "kong")
	os.WriteFile(kong, []byte("#!/bin/sh\necho \"Error: $KONG_PG_HOST $KONG_PG_USER $KONG_NGINX_DAEMON\" >&2\nexit 1\n"), 0o755)
	a := testAgent(t)
	for i, kv := range a.Env {
		if strings.HasPrefix(kv, "PATH=") {
			a.Env[i] = "PATH=" + bin + ":/usr/bin:/bin"
		}
	}
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerSystemd, Unit: "kong.service", Prefix: "/usr/local/kong"}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "file-host dropin-user off") {
		t.Fatalf("kong did not get the unit's environment: %+v", rep.Error)
	}
	os.Remove(envFile)
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerSystemd, Unit: "kong.service"}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "EnvironmentFile "+envFile) {
		t.Fatalf("a missing EnvironmentFile: %+v", rep.Error)
	}
}

// A short password from the node (pg_password = kong) is not redacted:
// replacing "kong" would corrupt the reply, whose keys hold it.
func TestShortNodeSecretKeepsReplyIntact(t *testing.T) {
	dir, kong, envFile := kongWithEnvFile(t, "echo 'Error: kong could not connect' >&2", "KONG_PG_PASSWORD=kong\n")
	a := testAgent(t)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerKongCLI, EnvFile: envFile, Prefix: filepath.Join(dir, "p")}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "kong could not connect") {
		t.Fatalf("reply mangled: %+v", rep.Error)
	}
}

// kongWithEnvFile writes, in a new dir, a kong that runs body then exits
// 1, and a service environment file holding env.
func kongWithEnvFile(t *testing.T, body, env string) (dir, kong, envFile string) {
	t.Helper()
	dir = t.TempDir()
	kong, envFile = filepath.Join(dir, "kong"), filepath.Join(dir, "kong_env.conf")
	if err := os.WriteFile(kong, []byte("#!/bin/sh\n"+body+"\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, kong, envFile
}
