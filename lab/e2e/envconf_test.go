//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 16, configuration from the environment: an ENVCONF=1 fleet keeps
// its database settings (host, user, database, password) only in the
// service's environment file, and kong.conf names a decoy database with a
// bootstrapped Kong schema (kong-reference 9.2). kongctl plan shows the
// effective settings taken from the environment; a node whose environment
// file is missing is refused in preflight, naming it, before any stop; the
// fleet upgrades 2.8.4 -> 3.4.2 with the migrations on the real database
// and the decoy's fingerprint unchanged.
func TestUpgradeEnvConf(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, EnvConf: true})
	nodes := names(e.lab.KongHosts())
	decoyDSN, err := e.lab.DecoyDSN()
	if err != nil {
		t.Fatal(err)
	}
	decoy := e.fingerprintDSN(decoyDSN)
	if decoy["schema_meta"] == "" || strings.HasPrefix(decoy["schema_meta"], "0 rows") {
		t.Fatalf("the decoy database holds no bootstrapped Kong schema: %v", decoy)
	}
	real := e.fingerprint()
	// The trap is real: kong on kong.conf alone (an SSH shell) sees the
	// decoy, not the database the fleet serves from.
	if code, out := e.migrationsList(nodes[0]); code != 0 || !strings.Contains(out, "Executed migrations") {
		t.Fatalf("kong migrations list on kong.conf alone: exit %d %s", code, out)
	}
	e.requireServing(nodes, []route{{"/lab", ""}})
	secrets := e.envConfSecrets()
	noSecrets := func(what string, r result) {
		t.Helper()
		for name, v := range secrets {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("%s: the %s appears in kongctl's output", what, name)
			}
		}
	}

	// kongctl plan: the effective database settings from the environment.
	r := e.kongctl("plan", "-i", e.inv, "--output", "json")
	if r.code != 0 {
		t.Fatalf("plan: %s", r)
	}
	noSecrets("plan", r)
	var ev struct {
		Type string `json:"type"`
		Plan struct {
			Hosts []struct {
				Name      string `json:"name"`
				EnvSource string `json:"env_source"`
				DB        []struct{ Key, Value, Source string }
			} `json:"hosts"`
		} `json:"payload"`
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil || ev.Type != "report" {
		t.Fatalf("plan JSON's last line is not the plan: %v\n%s", err, r.stdout)
	}
	plan := ev.Plan
	dbAddr := e.lab.DBHost().Address
	for _, h := range plan.Hosts {
		got := map[string][2]string{}
		for _, s := range h.DB {
			got[s.Key] = [2]string{s.Value, s.Source}
		}
		for key, want := range map[string]string{"pg_host": dbAddr, "pg_database": labenv.DBName, "pg_user": labenv.DBUser, "pg_password": "set"} {
			if got[key][0] != want || !strings.HasPrefix(got[key][1], "environment (process ") {
				t.Errorf("plan: %s %s = %q from %q, want %q from the environment", h.Name, key, got[key][0], got[key][1], want)
			}
		}
		if !strings.HasPrefix(h.EnvSource, "process ") {
			t.Errorf("plan: %s environment source %q", h.Name, h.EnvSource)
		}
	}
	if len(plan.Hosts) != len(nodes) {
		t.Errorf("plan has %d hosts, want %d", len(plan.Hosts), len(nodes))
	}
	r = e.kongctl("plan", "-i", e.inv)
	if r.code != 0 || !strings.Contains(r.stdout, "pg_host      "+dbAddr+"  environment (process ") {
		t.Errorf("plan text lacks the effective pg_host from the environment: %s", r)
	}

	// A node whose environment file is missing: refused before any stop.
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.Exec(ctx, nodes[1], "mv "+labenv.ServiceEnvFile+" "+labenv.ServiceEnvFile+".away"); err != nil {
		t.Fatalf("hide the environment file: %v %s", err, out)
	}
	pids := e.kongPIDs(nodes)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade with %s's environment file missing: want exit 1: %s", nodes[1], r)
	}
	noSecrets("refused upgrade", r)
	rep := finalReport(t, r.stdout)
	found := false
	for _, f := range rep.Findings {
		if f.Code == "effective-config" {
			found = found || f.Host == nodes[1] && strings.Contains(f.Message, labenv.ServiceEnvFile)
			if f.Host != nodes[1] {
				t.Errorf("effective-config finding for %s: %s", f.Host, f.Message)
			}
		}
	}
	if !found {
		t.Errorf("no effective-config finding naming %s and %s: %+v", nodes[1], labenv.ServiceEnvFile, rep.Findings)
	}
	if got := e.kongPIDs(nodes); !equalMaps(pids, got) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, got)
	}
	if out, err := e.lab.Exec(ctx, nodes[1], "mv "+labenv.ServiceEnvFile+".away "+labenv.ServiceEnvFile); err != nil {
		t.Fatalf("restore the environment file: %v %s", err, out)
	}

	// The upgrade: migrations on the real database, the decoy untouched.
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	noSecrets("upgrade", r)
	e.requireVersion("3.4.2", nodes...)
	if d := diffFingerprints(decoy, e.fingerprintDSN(decoyDSN)); len(d) > 0 {
		t.Errorf("the decoy database changed: %v", d)
	}
	after := e.fingerprint()
	if after["schema_meta"] == real["schema_meta"] {
		t.Errorf("the real database's schema_meta is unchanged: the migrations did not run on it")
	}
	// Kong on kong.conf alone now finds the decoy behind: 2.8's schema
	// under 3.4.2 has new migrations (exit 5), the real one none.
	if code, out := e.migrationsList(nodes[0]); code != 5 {
		t.Errorf("kong migrations list on kong.conf alone (the decoy) after the upgrade: exit %d, want 5: %s", code, out)
	}
	e.requireServing(nodes, []route{{"/lab", ""}})
}

// envConfSecrets are an ENVCONF lab's passwords, by name: the database's
// (in the service environment) and the decoy's (in kong.conf).
func (e *env) envConfSecrets() map[string]string {
	e.t.Helper()
	secrets := map[string]string{}
	for name, f := range map[string]string{"database password": e.lab.PasswordFile(), "decoy password": filepath.Join(e.lab.Dir(), labenv.DecoyPasswordFile)} {
		b, err := os.ReadFile(f)
		if err != nil || len(strings.TrimSpace(string(b))) < 8 {
			e.t.Fatalf("%s: %v", name, err)
		}
		secrets[name] = strings.TrimSpace(string(b))
	}
	return secrets
}
