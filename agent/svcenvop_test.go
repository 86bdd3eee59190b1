package agent

import (
	"reflect"
	"strings"
	"testing"

	"os"
	"path/filepath"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// service.env returns the service's KONG_* environment with its values,
// the password included (the one reply that carries them), and keeps no
// output tails.
func TestServiceEnvOpReturnsTheValues(t *testing.T) {
	dir, _, envFile := kongWithEnvFile(t, "", "KONG_PG_HOST=env-db-host\nKONG_PG_PASSWORD=env-pw-77aa\nOTHER=x\n")
	a := testAgent(t)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpServiceEnv, agentproto.ServiceEnvParams{Manager: agentproto.ManagerKongCLI, EnvFile: envFile, Prefix: filepath.Join(dir, "p")}))
	if rep.Error != nil {
		t.Fatal(rep.Error)
	}
	r, err := agentproto.DecodeResult[agentproto.ServiceEnvResult](rep)
	if err != nil {
		t.Fatal(err)
	}
	want := agentproto.KongEnv{"KONG_PG_HOST": "env-db-host", "KONG_PG_PASSWORD": "env-pw-77aa"}
	if !reflect.DeepEqual(r.Vars, want) || r.Source != "file "+envFile || r.From["KONG_PG_PASSWORD"] != "file "+envFile {
		t.Errorf("service.env = %+v", r)
	}
	if rep.StdoutTail != "" || rep.StderrTail != "" {
		t.Errorf("tails kept: %q %q", rep.StdoutTail, rep.StderrTail)
	}
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpServiceEnv, agentproto.ServiceEnvParams{Manager: agentproto.ManagerKongCLI, EnvFile: filepath.Join(dir, "gone.env")}))
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "gone.env") {
		t.Errorf("missing env file: %+v", rep.Error)
	}
}

// A carried environment (the rehearsal host's) is the service's: kong
// migrations sees it in its environment, never in argv; the node's own
// environment file is not read; the carried password is redacted from
// the reply, kong's output included.
func TestMigrationsWithCarriedEnv(t *testing.T) {
	dir, kong, _ := kongWithEnvFile(t, "echo \"Error: could not connect to $KONG_PG_HOST/$KONG_PG_DATABASE as $KONG_PG_PASSWORD\" >&2", "")
	a := testAgent(t)
	var argvs [][]string
	var keys [][]string
	a.Trace = func(argv, envKeys []string) { argvs = append(argvs, argv); keys = append(keys, envKeys) }
	carried := agentproto.KongEnv{"KONG_PG_HOST": "db-1", "KONG_PG_DATABASE": "kongctl_rehearsal_x", "KONG_PG_PASSWORD": "carried-pw-91"}
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, Manager: agentproto.ManagerKongCLI,
		EnvFile: filepath.Join(dir, "not-read.env"), Prefix: filepath.Join(dir, "p"), KongEnv: carried}))
	if strings.Contains(raw, "carried-pw-91") {
		t.Fatalf("reply leaks the carried password: %s", raw)
	}
	if rep.Error == nil || !strings.Contains(rep.Error.Message, "db-1/kongctl_rehearsal_x as [REDACTED]") {
		t.Fatalf("kong did not see the carried environment: %+v", rep.Error)
	}
	for i, argv := range argvs {
		if strings.Contains(strings.Join(argv, " "), "carried-pw") || strings.Contains(strings.Join(argv, " "), "kongctl_rehearsal_x") {
			t.Errorf("argv carries the environment: %q", argv)
		}
		if argv[0] == kong && !reflect.DeepEqual(keys[i], carried.Names()) {
			t.Errorf("env keys = %v, want %v", keys[i], carried.Names())
		}
	}
	// Facts on the same request see the carried database, from the carrier.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpFacts, agentproto.FactsParams{KongBin: kong, Manager: agentproto.ManagerKongCLI, Prefix: filepath.Join(dir, "p"), KongEnv: carried}))
	f, err := agentproto.DecodeResult[agentproto.Facts](rep)
	if err != nil {
		t.Fatal(err)
	}
	if f.Conf.DB.Name != "kongctl_rehearsal_x" || f.Conf.DBSources["pg_database"] != "environment (carried by kongctl)" || f.Conf.EnvSource != "carried by kongctl" {
		t.Errorf("facts with a carried environment: db %+v sources %v env source %q", f.Conf.DB, f.Conf.DBSources, f.Conf.EnvSource)
	}
	// A carried environment is refused under systemd, and a bad name.
	for _, p := range []agentproto.MigrationsParams{
		{Action: "list", Manager: agentproto.ManagerSystemd, KongEnv: carried},
		{Action: "list", KongEnv: agentproto.KongEnv{"PATH": "/tmp"}},
	} {
		rep, _ = rpc(t, a, mustReq(t, agentproto.OpMigrations, p))
		if rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
			t.Errorf("%+v: want invalid, got %+v", p, rep.Error)
		}
	}
}

// After a carried environment's Kong stopped, the files `kong start`
// wrote its resolved settings into (the secrets in clear) are gone; a
// node's own stop leaves its prefix alone.
func TestStopRemovesTheCarriedResolvedConf(t *testing.T) {
	a := testAgent(t)
	bin := fakeKong(t)
	for _, carried := range []agentproto.KongEnv{{"KONG_PG_PASSWORD": "pw-carried-1"}, nil} {
		prefix := t.TempDir()
		conf := filepath.Join(prefix, "kong.conf")
		if err := os.WriteFile(conf, []byte("prefix = "+prefix+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files := []string{filepath.Join(prefix, ".kong_env"), filepath.Join(prefix, ".kong_process_secrets_http")}
		for _, f := range files {
			if err := os.WriteFile(f, []byte("pg_password = pw-carried-1\n"), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		rep, _ := rpc(t, a, mustReq(t, agentproto.OpServiceStop, agentproto.ServiceParams{KongBin: bin, Manager: agentproto.ManagerKongCLI, Prefix: prefix,
			Conf: conf, Ports: []string{"127.0.0.1:1"}, KongEnv: carried}))
		if rep.Error != nil {
			t.Fatal(rep.Error)
		}
		for _, f := range files {
			if _, err := os.Stat(f); (err == nil) == (carried != nil) {
				t.Errorf("carried=%v: %s exists=%v", carried != nil, f, err == nil)
			}
		}
	}
}
