package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The agent's effective configuration becomes the plan's settings, in a
// fixed order, the password as set/not set only.
// kongctl plan shows each node's effective database settings and their
// sources, text and JSON, and no secret's value.
func TestPlanShowsEffectiveDB(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	for _, n := range c.nodes {
		n.envSource = "file /etc/kong/kong_env.conf"
		n.db = []fleet.ConfSetting{
			{Key: "pg_host", Value: "198.18.7.2", Source: "environment (file /etc/kong/kong_env.conf)"},
			{Key: "pg_database", Value: "kong", Source: "environment (file /etc/kong/kong_env.conf)"},
			{Key: "pg_port", Value: "5432", Source: "default"},
			{Key: "pg_password", Value: "set", Source: "environment (file /etc/kong/kong_env.conf)"},
		}
	}
	p, err := plan(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if err != nil || !p.Ready {
		t.Fatalf("%v %+v", err, p)
	}
	js, _ := json.Marshal(p)
	var back UpgradePlan
	if err := json.Unmarshal(js, &back); err != nil || len(back.Hosts) != 2 || back.Hosts[0].DB[0].Value != "198.18.7.2" || back.Hosts[0].EnvSource == "" {
		t.Errorf("json: %v %s", err, js)
	}
}

// A node whose effective configuration cannot be read is refused before
// any stop, naming it and what was missing.
func TestPreflightRefusesUnreadableEnv(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.nodes["kong-2"].envError = "not_found: read the kong service's environment file /etc/kong/kong_env.conf: open /etc/kong/kong_env.conf: no such file or directory"
	f := preflightRefused(t, c, testSpec(t, "kong-1", "kong-2"), "effective-config")
	if f.Host != "kong-2" || !strings.Contains(f.Message, "/etc/kong/kong_env.conf") {
		t.Errorf("%+v", f)
	}
}

// A node whose effective database is not the inventory's is refused
// before any stop (kongctl would back up one database and migrate
// another); another host name is a warning only.
func TestPreflightRefusesDBMismatch(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	settings := func(host, name string) []fleet.ConfSetting {
		return []fleet.ConfSetting{{Key: "database", Value: "postgres", Source: "default"}, {Key: "pg_host", Value: host, Source: "environment (process 7)"}, {Key: "pg_port", Value: "5432", Source: "default"},
			{Key: "pg_database", Value: name, Source: "kong.conf /etc/kong/kong.conf"}, {Key: "pg_schema", Value: "public", Source: "default"}}
	}
	c.nodes["kong-1"].db = settings("db.internal", "kong")
	c.nodes["kong-2"].db = settings("10.0.0.5", "kong_decoy")
	spec := testSpec(t, "kong-1", "kong-2")
	spec.DB = DBSpec{Host: "10.0.0.5", Name: "kong", Port: 5432, Schema: "public"}
	f := preflightRefused(t, c, spec, "db-mismatch")
	if f.Host != "kong-2" || !strings.Contains(f.Message, "effective pg_database is kong_decoy (kong.conf /etc/kong/kong.conf), the inventory's database is kong") {
		t.Errorf("%+v", f)
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if w := findingOf(r, "db-host"); w == nil || w.Severity != SevWarning || w.Host != "kong-1" {
		t.Errorf("db-host warning: %+v", w)
	}
}
