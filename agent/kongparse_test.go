package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// The texts below are `kong migrations` output as kong-reference.md 1.3
// describes it.
const needsBootstrapMsg = "Database needs bootstrapping or is older than Kong 1.0.\n\n" +
	"To start a new installation from scratch, run 'kong migrations bootstrap'.\n\n" +
	"To migrate from a version older than 1.0, migrated to Kong 1.5.0 first. \n" +
	"If you still have 'apis' entities, you can convert them to Routes and Services\n" +
	"using the 'kong migrations migrate-apis' command in Kong 1.5.0.\n\n"

func ss(subsystem string, names ...string) agentproto.SubsystemMigrations {
	return agentproto.SubsystemMigrations{Subsystem: subsystem, Migrations: names}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name   string
		stdout string
		stderr string
		exit   int
		want   agentproto.MigrationState
		code   agentproto.ErrorCode // expected error code, "" = success
	}{
		{
			name:   "needs bootstrap (exit 3)",
			stdout: needsBootstrapMsg, exit: 3,
			want: agentproto.MigrationState{NeedsBootstrap: true, ExitCode: 3},
		},
		{
			name:   "up to date (exit 0), padded subsystems",
			stdout: "Executed migrations:\n         core: 000_base, 003_100_to_110, 004_110_to_120\nrate-limiting: 000_base_rate_limiting, 003_10_to_112\n",
			exit:   0,
			want: agentproto.MigrationState{ExitCode: 0, Executed: []agentproto.SubsystemMigrations{
				ss("core", "000_base", "003_100_to_110", "004_110_to_120"),
				ss("rate-limiting", "000_base_rate_limiting", "003_10_to_112")}},
		},
		{
			name:   "executed + new only (exit 5), spec example",
			stdout: "Executed migrations:\ncore: 000_base\n\nNew migrations available:\nwith-migrations: 000_base_with_migrations, 001_14_to_15\n\nRun 'kong migrations up' to proceed\n",
			exit:   5,
			want: agentproto.MigrationState{ExitCode: 5,
				Executed: []agentproto.SubsystemMigrations{ss("core", "000_base")},
				New:      []agentproto.SubsystemMigrations{ss("with-migrations", "000_base_with_migrations", "001_14_to_15")}},
		},
		{
			name:   "executed + pending only (exit 4)",
			stdout: "Executed migrations:\ncore: 000_base, 015_270_to_280\n\nPending migrations:\ncore: 016_280_to_300\n\nRun 'kong migrations finish' when ready\n",
			exit:   4,
			want: agentproto.MigrationState{ExitCode: 4,
				Executed: []agentproto.SubsystemMigrations{ss("core", "000_base", "015_270_to_280")},
				Pending:  []agentproto.SubsystemMigrations{ss("core", "016_280_to_300")}},
		},
		{
			name: "pending and new (exit 4) with warn line",
			stdout: "Executed migrations:\n    core: 000_base\n\nPending migrations:\n    core: 016_280_to_300\n\nNew migrations available:\n    core: 017_300_to_310\nacme: 001_280_to_300\n\n" +
				"\nRun 'kong migrations finish' when ready to complete pending migrations (postgres database will be incompatible with the previous Kong version)\n",
			stderr: "2026/01/02 03:04:05 [warn] Database has pending migrations from a previous upgrade, and new migrations from this upgrade (version 3.4.2)\n",
			exit:   4,
			want: agentproto.MigrationState{ExitCode: 4,
				Executed: []agentproto.SubsystemMigrations{ss("core", "000_base")},
				Pending:  []agentproto.SubsystemMigrations{ss("core", "016_280_to_300")},
				New:      []agentproto.SubsystemMigrations{ss("core", "017_300_to_310"), ss("acme", "001_280_to_300")}},
		},
		{
			name:   "prefix creation info line is tolerated",
			stdout: "prefix directory /usr/local/kong not found, trying to create it\nExecuted migrations:\ncore: 000_base\n",
			exit:   0,
			want:   agentproto.MigrationState{ExitCode: 0, Executed: []agentproto.SubsystemMigrations{ss("core", "000_base")}},
		},
		{
			name:   "connection error (exit 1)",
			stderr: "Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused\n\n  Run with --v (verbose) or --vv (debug) for more details\n",
			exit:   1, code: agentproto.CodeDBUnreachable,
		},
		{name: "other error (exit 1)", stderr: "Error: boom\n", exit: 1, code: agentproto.CodeKongFailed},
		{name: "unknown exit", stdout: "Executed migrations:\ncore: 000_base\n", exit: 2, code: agentproto.CodeKongFailed},
		{name: "exit 3 without message", stdout: "something else\n", exit: 3, code: agentproto.CodeUnparsed},
		{name: "unknown line", stdout: "Executed migrations:\ncore: 000_base\nDatabase is on fire\n", exit: 0, code: agentproto.CodeUnparsed},
		{name: "exit 0 with pending contradicts", stdout: "Executed migrations:\ncore: a\n\nPending migrations:\ncore: b\n", exit: 0, code: agentproto.CodeUnparsed},
		{name: "exit 5 without new contradicts", stdout: "Executed migrations:\ncore: a\n", exit: 5, code: agentproto.CodeUnparsed},
		{name: "exit 4 without pending contradicts", stdout: "Executed migrations:\ncore: a\n\nNew migrations available:\ncore: b\n", exit: 4, code: agentproto.CodeUnparsed},
		{name: "aborted", stdout: "aborted: another node is performing database changes\n", exit: 0, code: agentproto.CodeAborted},
		{name: "section twice", stdout: "Executed migrations:\ncore: a\n\nExecuted migrations:\ncore: a\n", exit: 0, code: agentproto.CodeUnparsed},
		{name: "garbage", stdout: "\x00\xff{{{", exit: 0, code: agentproto.CodeUnparsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseList(tt.stdout, tt.stderr, tt.exit)
			if tt.code != "" {
				if agentproto.CodeOf(err) != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				if tt.code == agentproto.CodeUnparsed && tt.stdout != "" && !strings.Contains(err.Error(), strings.TrimSpace(tt.stdout)[:5]) {
					t.Fatalf("unparsed error does not carry the raw text: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseList: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	out := `{"needs_bootstrap":false,"new_migrations":[{"subsystem":"core","namespace":"kong.db.migrations.core","migrations":["017_300_to_310"]}],"executed_migrations":[{"subsystem":"core","namespace":"kong.db.migrations.core","migrations":["000_base","016_280_to_300"]}]}` + "\n"
	got, err := parseStatus(out, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := agentproto.MigrationState{ExitCode: -1,
		Executed: []agentproto.SubsystemMigrations{ss("core", "000_base", "016_280_to_300")},
		New:      []agentproto.SubsystemMigrations{ss("core", "017_300_to_310")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
	if got, err := parseStatus(`{"needs_bootstrap":true}`, "", 0); err != nil || !got.NeedsBootstrap {
		t.Fatalf("needs bootstrap: %+v %v", got, err)
	}
	for name, c := range map[string]struct {
		out, errout string
		exit        int
		code        agentproto.ErrorCode
	}{
		"2.8 has no status": {"", "No such command for migrations: status\n", 1, agentproto.CodeKongFailed},
		"not json":          {"hello\n", "", 0, agentproto.CodeUnparsed},
		"json without key":  {`{"x":1}`, "", 0, agentproto.CodeUnparsed},
	} {
		if _, err := parseStatus(c.out, c.errout, c.exit); agentproto.CodeOf(err) != c.code {
			t.Errorf("%s: err = %v, want %s", name, err, c.code)
		}
	}
}

func TestParseRun(t *testing.T) {
	tests := []struct {
		name, what, stdout, stderr string
		exit                       int
		want                       runOutput
		code                       agentproto.ErrorCode
	}{
		{name: "up: nothing new", what: "up", stdout: "Database is already up-to-date\n", want: runOutput{AlreadyDone: true}},
		{name: "up: spec example with pending", what: "up",
			stdout: "migrating core on database 'kong'...\ncore migrated up to: 016_280_to_300 (pending)\nmigrating with-migrations on database 'kong'...\nwith-migrations migrated up to: 001_14_to_15 (executed)\n2 migrations processed\n1 executed\n1 pending\n\nDatabase has pending migrations; run 'kong migrations finish' when ready\n",
			want:   runOutput{Processed: 2, Executed: 1, Pending: 1, PendingAfterUp: true}},
		{name: "up: single migration", what: "up",
			stdout: "migrating core on database 'kong'...\ncore migrated up to: 017_300_to_310 (executed)\n1 migration processed\n1 executed\n",
			want:   runOutput{Processed: 1, Executed: 1}},
		{name: "up: aborted with exit 0 is not success", what: "up", stdout: "aborted: another node is performing database changes\n", code: agentproto.CodeAborted},
		{name: "up: needs bootstrap", what: "up", exit: 1, stderr: "Error: Cannot run migrations: Database needs bootstrapping or is older than Kong 1.0.\n", code: agentproto.CodeKongFailed},
		{name: "up: pending refuse", what: "up", exit: 1, stderr: "Error: Database has pending migrations; run 'kong migrations finish'\n\n  Run with --v (verbose) or --vv (debug) for more details\n", code: agentproto.CodeKongFailed},
		{name: "up: lock timeout", what: "up", exit: 1, stderr: "Error: [PostgreSQL error] timeout\n", code: agentproto.CodeLockHeld},
		{name: "up: db unreachable", what: "up", exit: 1, stderr: "Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: timeout\n", code: agentproto.CodeDBUnreachable},
		{name: "up: migration failure", what: "up", exit: 1, stderr: "Error: [PostgreSQL error] cluster_mutex callback threw an error: failed to run migration '006_350_to_360' up: receive_message: failed to get type: timeout\n", code: agentproto.CodeKongFailed},
		{name: "up: killed", what: "up", exit: 137, stdout: "migrating core on database 'kong'...\n", code: agentproto.CodeKongFailed},
		{name: "finish: teardown", what: "finish",
			stdout: "migrating core on database 'kong'...\ncore migrated up to: 016_280_to_300 (executed)\n1 migration processed\n1 executed\n",
			want:   runOutput{Processed: 1, Executed: 1}},
		{name: "finish: nothing pending", what: "finish", stdout: "No pending migrations to finish\n", want: runOutput{AlreadyDone: true}},
		{name: "finish: new available", what: "finish", stdout: "\nNew migrations available; run 'kong migrations up' to proceed\n", want: runOutput{NewAvailable: true}},
		{name: "finish: aborted", what: "finish", stdout: "aborted: another node is performing database changes\n", code: agentproto.CodeAborted},
		{name: "finish: issue 4849 aborted after no pending", what: "finish", stdout: "No pending migrations to finish\naborted: another node is performing database changes\n", code: agentproto.CodeAborted},
		{name: "unknown text", what: "up", stdout: "Migrations are great\n", code: agentproto.CodeUnparsed},
		{name: "empty output", what: "up", stdout: "", code: agentproto.CodeUnparsed},
		{name: "counts disagree", what: "up", stdout: "migrating core on database 'kong'...\ncore migrated up to: x (executed)\n2 migrations processed\n2 executed\n", code: agentproto.CodeUnparsed},
		{name: "finish text on up", what: "up", stdout: "No pending migrations to finish\n", code: agentproto.CodeUnparsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRun(tt.what, tt.stdout, tt.stderr, tt.exit)
			if tt.code != "" {
				if agentproto.CodeOf(err) != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRun: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseKongOutput(f *testing.F) {
	f.Add("Executed migrations:\ncore: 000_base\n", 0)
	f.Add(needsBootstrapMsg, 3)
	f.Add("migrating core on database 'kong'...\ncore migrated up to: x (pending)\n1 migration processed\n1 pending\n", 0)
	f.Fuzz(func(t *testing.T, out string, exit int) {
		if _, err := parseList(out, out, exit); err != nil && agentproto.CodeOf(err) == "" {
			t.Fatalf("untyped error: %v", err)
		}
		for _, what := range []string{"up", "finish"} {
			if _, err := parseRun(what, out, "", exit); err != nil && agentproto.CodeOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
		}
		if _, err := parseStatus(out, "", exit); err != nil && agentproto.CodeOf(err) == "" {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

func TestParseKongVersion(t *testing.T) {
	for raw, want := range map[string][2]string{
		"3.4.2":                         {"3.4.2", "oss"},
		"Kong Enterprise 3.9.0.0":       {"3.9.0.0", "enterprise"},
		"Kong: 3.4.2\nngx_lua: 10025":   {"3.4.2", "oss"},
		"Kong Enterprise: 3.4.3.5\nx y": {"3.4.3.5", "enterprise"},
	} {
		v, ed, err := parseKongVersion(raw)
		if err != nil || v != want[0] || ed != want[1] {
			t.Errorf("parseKongVersion(%q) = %q %q %v, want %v", raw, v, ed, err, want)
		}
	}
	if _, _, err := parseKongVersion("no version here"); agentproto.CodeOf(err) != agentproto.CodeUnparsed {
		t.Errorf("want unparsed, got %v", err)
	}
}

func TestConfParsing(t *testing.T) {
	k, v, ok := parseConfLine(`pg_password = se\#cret   # the password`)
	if !ok || k != "pg_password" || v != "se#cret" {
		t.Fatalf("got %q %q %v", k, v, ok)
	}
	if _, _, ok := parseConfLine("# prefix = /x"); ok {
		t.Fatal("comment parsed as entry")
	}
	c := &kongConf{kv: map[string]string{"pg_host": "db.lab", "admin_listen": "0.0.0.0:9001, 0.0.0.0:9444 ssl", "pg_password": "x"}}
	f := c.facts("3.4.2")
	if f.DB.Host != "db.lab" || f.DB.Port != 5432 || f.StatusListen != "off" || !f.HasPGPassword || f.Prefix != "/usr/local/kong" {
		t.Fatalf("facts = %+v", f)
	}
	if got := plainHTTPAddr(f.AdminListen); got != "127.0.0.1:9001" {
		t.Fatalf("plainHTTPAddr = %q", got)
	}
	if c.facts("3.6.0").StatusListen == "off" {
		t.Fatal("3.6 default status_listen must be on")
	}
	if !versionAtLeast("3.10.0", 3, 9) || versionAtLeast("3.4.2", 3, 9) || !versionAtLeast("3.9.0.1", 3, 9) {
		t.Fatal("versionAtLeast")
	}
}
