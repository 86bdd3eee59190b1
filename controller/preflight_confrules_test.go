package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/kongver"
)

// A kong.conf property removed between X and Y stops the upgrade before
// any node stops, named with its file and line; listed in the
// inventory's preflight.accept, it is reported and the upgrade goes on.
func TestPreflightConfRules(t *testing.T) {
	entries := []upgradepath.ConfEntry{
		{Key: "prefix", Value: "/usr/local/kong", Line: 2},
		{Key: "nginx_optimizations", Value: "on", Line: 7},
		{Key: "opentelemetry_tracing", Value: "all", Line: 9},
	}
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-2"].confEntries = entries
	f := preflightRefused(t, c, testSpec(t), "kong-conf-removed")
	if f.Host != "kong-2" || !strings.HasPrefix(f.Message, "/etc/kong/kong.conf:7: nginx_optimizations was removed in Kong 3.0") ||
		!strings.HasPrefix(f.Fix, "remove nginx_optimizations from kong.conf") {
		t.Errorf("%+v", f)
	}

	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-2"].confEntries = entries
	spec := testSpec(t)
	spec.AcceptConf = []string{"nginx_optimizations"}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %+v", r.Outcome, r.Findings)
	}
	if f := findingOf(r, "kong-conf-removed"); f == nil || f.Severity != SevInfo || !strings.Contains(f.Message, "(accepted by preflight.accept)") {
		t.Errorf("accepted property: %+v", f)
	}
	// 2.8.4 → 3.4.2: opentelemetry_tracing is a deprecated alias in Y,
	// a warning that never stops the upgrade.
	if f := findingOf(r, "kong-conf-renamed"); f == nil || f.Severity != SevWarning || !strings.HasPrefix(f.Message, "/etc/kong/kong.conf:9: opentelemetry_tracing is deprecated") {
		t.Errorf("renamed property: %+v", f)
	}
}

// accept lifts removed and renamed properties only: a value or nginx
// directive Y refuses would keep Y from starting.
func TestConfRuleFindingAccept(t *testing.T) {
	to := kongver.MustParse("3.9.1")
	nginx := upgradepath.ConfFinding{Rule: upgradepath.ConfRule{Kind: upgradepath.ConfNginx, Directive: "ssl", Gone: "3.6", Replacement: "the ssl flag of the *_listen setting"},
		Entry: upgradepath.ConfEntry{Key: "nginx_proxy_ssl", Value: "on", Line: 9}}
	f := confRuleFinding("kong-1", "/etc/kong/kong.conf", to, nginx, true)
	if f.Severity != SevError || f.Code != "kong-conf-nginx-directive" || !strings.HasPrefix(f.Message, "/etc/kong/kong.conf:9: nginx_proxy_ssl injects") ||
		!strings.Contains(f.Message, "cannot help") || !strings.HasPrefix(f.Fix, "remove nginx_proxy_ssl from kong.conf") {
		t.Errorf("%+v", f)
	}
	removed := upgradepath.ConfFinding{Rule: upgradepath.ConfRule{Key: "privileged_agent", Kind: upgradepath.ConfRemoved, Gone: "3.5"}, Entry: upgradepath.ConfEntry{Key: "privileged_agent", Line: 2}}
	if f := confRuleFinding("kong-1", "/etc/kong/kong.conf", to, removed, true); f.Severity != SevInfo || f.Fix != "" {
		t.Errorf("%+v", f)
	}
}
