package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// dcOtherServer is the dual-cluster onto kong_y on another server, with
// its own role and password reference.
func dcOtherServer(t *testing.T, pw func() ([]byte, error)) (*fakeCluster, *Spec) {
	c, _, spec := dcCluster(t)
	spec.TargetServer = &TargetServerSpec{Host: "10.0.0.6", Port: 5433, User: "kong_y", Password: pw}
	c.nodes["kong-1"].confText = "database = postgres\npg_host = 10.0.0.5\npg_password = x-secret\npg_database = kong\n"
	return c, spec
}

// On another server: the target's role is checked there, Y's kong.conf
// on every spare points at host, port, database and role of the target
// (the password from its reference, a # escaped for Kong), and the plan
// and the notes say where the target is.
func TestDualClusterOtherServer(t *testing.T) {
	c, spec := dcOtherServer(t, func() ([]byte, error) { return []byte("y#secret"), nil })
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range p.Phases {
		if ph.Name == string(PhaseTargetDB) && !strings.Contains(ph.Does, "10.0.0.6:5433/kong_y") {
			t.Errorf("target-db: %s", ph.Does)
		}
	}
	upgradeExpect(t, c, spec, Succeeded)
	if st, err := status(context.Background(), spec, testConfig(c)); err != nil || st.TargetDatabase != "10.0.0.6:5433/kong_y" {
		t.Errorf("status: %+v, %v; want the target 10.0.0.6:5433/kong_y", st, err)
	}
	calls := strings.Join(c.Calls(), "\n")
	if !strings.Contains(calls, "db can-create-target") || strings.Contains(calls, "db can-create\n") {
		t.Errorf("the target's role not checked on its server:\n%s", calls)
	}
	for _, n := range spec.Spares {
		conf := string(c.nodes[n].wroteConf)
		for _, want := range []string{"pg_host = 10.0.0.6\n", "pg_port = 5433\n", "pg_user = kong_y\n", `pg_password = y\#secret` + "\n", "pg_database = kong_y\n"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s: kong.conf lacks %q:\n%s", n, want, conf)
			}
		}
		if strings.Contains(conf, "10.0.0.5") || strings.Contains(conf, "x-secret") {
			t.Errorf("%s: kong.conf still names X's server:\n%s", n, conf)
		}
	}
}

// Preflight refuses, naming the target's server: a role there without
// CREATEDB, and a password reference that does not resolve.
func TestDualClusterOtherServerRefused(t *testing.T) {
	c, spec := dcOtherServer(t, func() ([]byte, error) { return []byte("secret"), nil })
	c.noCreateDB = true
	r := upgradeExpect(t, c, spec, Failed)
	if !strings.Contains(r.Error, "kong_y has neither CREATEDB") || !strings.Contains(r.Error, "10.0.0.6:5433/kong_y") {
		t.Errorf("no CREATEDB: error %q", r.Error)
	}
	c, spec = dcOtherServer(t, func() ([]byte, error) { return nil, errors.New("environment variable PG_Y is not set") })
	r = upgradeExpect(t, c, spec, Failed)
	if !strings.Contains(r.Error, "target database 10.0.0.6:5433/kong_y") || !strings.Contains(r.Error, "PG_Y") {
		t.Errorf("unresolved password: error %q", r.Error)
	}
	if n := countCalls(c.Calls(), hasSuffix(" install 3.4.2")); n != 0 {
		t.Errorf("%d installs after a refused preflight", n)
	}
}

func (d fakeDB) TargetServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error) {
	if err := d.c.record("db target-server-info " + kongUser); err != nil {
		return upgradepath.PGServer{}, nil, err
	}
	return d.c.targetPG, d.c.targetHBA, nil
}

// The target server's own requirements: its pg_hba must admit the
// target's role from every spare (refused, naming the spare), and a
// PostgreSQL major version other than X's is named.
func TestDualClusterOtherServerRequirements(t *testing.T) {
	c, spec := dcOtherServer(t, func() ([]byte, error) { return []byte("secret"), nil })
	addr := map[string]string{"new-1": "10.0.1.1", "new-2": "10.0.1.2", "new-3": "10.0.2.1"}
	for i, h := range spec.Hosts {
		if slices.Contains(spec.Spares, h.Name) {
			spec.Hosts[i].Address = addr[h.Name]
		}
	}
	c.pg = upgradepath.PGServer{VersionNum: 150004, Version: "15.4"}
	c.targetPG = upgradepath.PGServer{VersionNum: 160002, Version: "16.2"}
	// new-1 and new-2 admitted, new-3 not.
	c.targetHBA = []upgradepath.HBARule{{Line: 7, Type: "host", Databases: []string{"all"}, Users: []string{"kong_y"}, Address: "10.0.1.0", Netmask: "255.255.255.0", Method: "scram-sha-256"}}
	r := upgradeExpect(t, c, spec, Failed)
	var hba, version int
	for _, f := range r.Findings {
		switch f.Code {
		case "target-db-hba":
			hba++
			if f.Host != "new-3" || !strings.Contains(f.Message, "10.0.0.6:5433 admits no connection of role kong_y to kong_y") {
				t.Errorf("hba finding %q", f.Message)
			}
		case "target-db-version":
			version++
			if !strings.Contains(f.Message, "16.2") || !strings.Contains(f.Message, "15.4") {
				t.Errorf("version finding %q", f.Message)
			}
		}
	}
	if hba != 1 || version != 1 {
		t.Errorf("%d hba findings (want new-3's), %d version findings: %+v", hba, version, r.Findings)
	}
}

// A role that may not read the target server's pg_hba rules: the run
// goes on, and a finding says the spares' admission was not checked.
func TestDualClusterTargetHBAUnreadable(t *testing.T) {
	c, spec := dcOtherServer(t, func() ([]byte, error) { return []byte("secret"), nil })
	c.targetHBA = nil
	r := upgradeExpect(t, c, spec, Succeeded)
	var found []Finding
	for _, f := range r.Findings {
		if f.Code == "target-db-hba" {
			found = append(found, f)
		}
	}
	if len(found) != 1 || found[0].Severity != SevInfo || !strings.Contains(found[0].Message, "is not checked") || !strings.Contains(found[0].Fix, "pg_hba_file_rules") {
		t.Errorf("want one info finding that the check did not run: %+v", found)
	}
	c, spec = dcOtherServer(t, func() ([]byte, error) { return []byte("secret"), nil })
	c.targetHBA = []upgradepath.HBARule{{Line: 1, Type: "host", Databases: []string{"all"}, Users: []string{"all"}, Address: "0.0.0.0", Netmask: "0.0.0.0", Method: "scram-sha-256"}}
	for _, f := range upgradeExpect(t, c, spec, Succeeded).Findings {
		if f.Code == "target-db-hba" {
			t.Errorf("rules read and matching: finding %+v", f)
		}
	}
}

// A target a DBA created empty for a role without CREATEDB: preflight
// says so (no CREATEDB asked), the backup is restored into it, and Y runs
// on it; one that is not empty is refused.
func TestDualClusterIntoEmptyTarget(t *testing.T) {
	c, spec := dcOtherServer(t, func() ([]byte, error) { return []byte("y-pw"), nil })
	c.noCreateDB = true
	c.scratch["kong_y"] = dbSnap{}
	r := upgradeExpect(t, c, spec, Succeeded)
	var empty string
	for _, f := range r.Findings {
		if f.Code == "target-db-empty" {
			empty = f.Message
		}
	}
	if !strings.Contains(empty, "10.0.0.6:5433/kong_y exists, empty") {
		t.Errorf("target-db-empty finding %q", empty)
	}
	calls := strings.Join(c.Calls(), "\n")
	if !strings.Contains(calls, "db restore-target kong_y into-empty") || strings.Contains(calls, "db can-create-target") {
		t.Errorf("want a restore into the empty kong_y without a CREATEDB check:\n%s", calls)
	}
	if c.scratch["kong_y"].schema != "3.4.2" {
		t.Errorf("kong_y schema %q, want Y's", c.scratch["kong_y"].schema)
	}

	c, spec = dcOtherServer(t, func() ([]byte, error) { return []byte("y-pw"), nil })
	c.scratch["kong_y"] = dbSnap{writes: 1}
	r = upgradeExpect(t, c, spec, Failed)
	if !strings.Contains(r.Error, "10.0.0.6:5433/kong_y exists already and is not empty") {
		t.Errorf("a target not empty: error %q", r.Error)
	}
}

// On another server the target may keep X's database name; on X's
// server (no target server, or one at X's host and port) it may not.
func TestDualClusterTargetNameOnOtherServer(t *testing.T) {
	_, spec := dcOtherServer(t, nil)
	spec.TargetDB = spec.DB.Name
	if err := spec.validateDualCluster(); err != nil {
		t.Errorf("X's name on another server: %v", err)
	}
	spec.TargetServer.Host, spec.TargetServer.Port = spec.DB.Host, spec.DB.Port
	if err := spec.validateDualCluster(); err == nil {
		t.Error("X's own database as the target: no error")
	}
	spec.TargetServer = nil
	if err := spec.validateDualCluster(); err == nil {
		t.Error("X's database name on X's server: no error")
	}
}
