package runner

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// What Y's kong check and kong prepare print (the simulator's texts,
// lab/kongsim/confcompat_fidelity_integration_test.go) becomes one finding
// naming the property, file and line.
func TestYConfFindings(t *testing.T) {
	f := fleet.Facts{ConfFile: "/etc/kong/kong.conf", ConfEntries: []upgradepath.ConfEntry{
		{Key: "prefix", Line: 1}, {Key: "pg_ssl_version", Value: "tlsv1_1", Line: 4}, {Key: "nginx_proxy_ssl", Value: "on", Line: 9},
	}}
	check := fleet.YConfCheck{Conf: "/etc/kong/kong.conf", CheckExit: 1,
		CheckStderr: "2026/12/06 10:00:00 [error] pg_ssl_version has an invalid value: 'tlsv1_1' (tlsv1_2, tlsv1_3, any)",
		PrepareExit: 1, PrepareStderr: "Error: pg_ssl_version has an invalid value: 'tlsv1_1' (tlsv1_2, tlsv1_3, any)\n\n  Run with --v (verbose) or --vv (debug) for more details"}
	got := yConfFindings("kong-1", "3.10.0.2", f, check)
	if len(got) != 1 || got[0].Code != "kong-conf-rejected-by-y" || got[0].Severity != SevError ||
		!strings.HasPrefix(got[0].Message, "/etc/kong/kong.conf:4: Kong 3.10.0.2's `kong check` refuses pg_ssl_version: pg_ssl_version has an invalid value: 'tlsv1_1'") {
		t.Errorf("check: %+v", got)
	}
	prep := fleet.YConfCheck{Conf: "/etc/kong/kong.conf", PrepareExit: 1,
		PrepareStderr: "Error: could not prepare Kong prefix at /var/lib/kongctl/ycheck-1/prefix: nginx configuration is invalid (exit code 1):\nnginx: [emerg] unknown directive \"ssl\" in /var/lib/kongctl/ycheck-1/prefix/nginx-kong.conf:12\nnginx: configuration file /var/lib/kongctl/ycheck-1/prefix/nginx.conf test failed\n\n  Run with --v (verbose) or --vv (debug) for more details"}
	got = yConfFindings("kong-1", "3.9.1", f, prep)
	if len(got) != 1 || !strings.HasPrefix(got[0].Message, "/etc/kong/kong.conf:9: nginx_proxy_ssl injects the nginx directive \"ssl\", which Kong 3.9.1's nginx does not know") ||
		!strings.Contains(got[0].Message, `nginx: [emerg] unknown directive "ssl"`) || !strings.HasPrefix(got[0].Fix, "remove nginx_proxy_ssl") {
		t.Errorf("prepare: %+v", got)
	}
	other := fleet.YConfCheck{Conf: "/etc/kong/kong.conf", PrepareExit: 1, PrepareStderr: "Error: could not prepare Kong prefix at /x: boom\n"}
	if got = yConfFindings("kong-1", "3.9.1", f, other); len(got) != 1 || !strings.HasPrefix(got[0].Message, "/etc/kong/kong.conf: Kong 3.9.1's `kong prepare` fails") {
		t.Errorf("other: %+v", got)
	}
	if got = yConfFindings("kong-1", "3.9.1", f, fleet.YConfCheck{}); len(got) != 0 {
		t.Errorf("passing: %+v", got)
	}
}

// Y's refusal stops the upgrade before any stop, after staging; accept
// does not lift it.
func TestPreflightRefusesWhatYRefuses(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-3"].confEntries = []upgradepath.ConfEntry{{Key: "log_level", Value: "loud", Line: 3}}
	c.nodes["kong-3"].yCheck = fleet.YConfCheck{Conf: "/etc/kong/kong.conf", CheckExit: 1, CheckStderr: "2026/12/06 10:00:00 [error] log_level has an invalid value: 'loud' (debug, info, notice, warn, error, crit, alert, emerg)"}
	spec := testSpec(t)
	spec.AcceptConf = []string{"log_level"}
	f := preflightRefused(t, c, spec, "kong-conf-rejected-by-y")
	if f.Host != "kong-3" || !strings.HasPrefix(f.Message, "/etc/kong/kong.conf:3: Kong 3.4.2's `kong check` refuses log_level") {
		t.Errorf("%+v", f)
	}
	if countCalls(c.Calls(), hasSuffix(" conf-check 3.4.2")) != 3 {
		t.Errorf("want Y's check on every node: %v", c.Calls())
	}
}
