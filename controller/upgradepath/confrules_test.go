package upgradepath

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/kongver"
)

func TestConfRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range ConfRules {
		id := r.Key + r.Directive
		if id == "" || r.Source == "" || r.Kind == "" {
			t.Errorf("rule %+v: needs a key or directive, a kind and a source", r)
		}
		if seen[id] {
			t.Errorf("rule %s twice", id)
		}
		seen[id] = true
		if _, err := kongver.ParseSeries(r.Gone); err != nil {
			t.Errorf("rule %s: Gone %q: %v", id, r.Gone, err)
		}
		if (r.Kind == ConfInvalid) != (len(r.Values) > 0) {
			t.Errorf("rule %s: Values go with invalid-value rules only", id)
		}
		if (r.Kind == ConfNginx) != (r.Directive != "") || (r.Kind == ConfNginx && r.Key != "") {
			t.Errorf("rule %s: a directive goes with nginx-directive rules only, without a key", id)
		}
		if r.Kind == ConfRenamed && r.Replacement == "" {
			t.Errorf("rule %s: a renamed property names its replacement", id)
		}
	}
}

func TestCheckConfEntries(t *testing.T) {
	conf := []ConfEntry{
		{Key: "prefix", Value: "/usr/local/kong", Line: 1},
		{Key: "nginx_optimizations", Value: "on", Line: 4},
		{Key: "client_max_body_size", Value: "8m", Line: 5},
		{Key: "cassandra_keyspace", Value: "kong", Line: 6},
		{Key: "nginx_proxy_ssl", Value: "off", Line: 7},
		{Key: "nginx_http_ssl_protocols", Value: "TLSv1.2", Line: 8},
		{Key: "pg_ssl_version", Value: "tlsv1_1", Line: 9},
		{Key: "portal_gui_listen", Value: "0.0.0.0:8003", Line: 10},
		{Key: "opentelemetry_tracing", Value: "all", Line: 11},
		{Key: "Privileged_Agent", Value: "on", Line: 12},
	}
	tests := []struct {
		from, to, edition string
		want              []string // key:line:kind
	}{
		{"2.8.4", "3.4.2", EditionOSS, []string{"nginx_optimizations:4:removed", "client_max_body_size:5:removed", "cassandra_keyspace:6:removed", "opentelemetry_tracing:11:renamed"}},
		{"2.8.4", "3.0.0", EditionOSS, []string{"nginx_optimizations:4:removed", "client_max_body_size:5:removed"}},
		{"3.4.2", "3.9.1", EditionOSS, []string{"nginx_proxy_ssl:7:nginx-directive", "opentelemetry_tracing:11:renamed", "Privileged_Agent:12:removed"}},
		{"3.4.3.5", "3.10.0.2", EditionEnterprise, []string{"nginx_proxy_ssl:7:nginx-directive", "pg_ssl_version:9:invalid-value", "portal_gui_listen:10:removed", "opentelemetry_tracing:11:renamed", "Privileged_Agent:12:removed"}},
		{"3.9.1", "3.9.2", EditionOSS, []string{"opentelemetry_tracing:11:renamed"}},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			var got []string
			for _, f := range CheckConfEntries(conf, kongver.MustParse(tt.from), kongver.MustParse(tt.to), tt.edition) {
				got = append(got, fmt.Sprintf("%s:%d:%s", f.Entry.Key, f.Entry.Line, f.Rule.Kind))
				if f.Message(kongver.MustParse(tt.to)) == "" || !strings.Contains(f.Fix(), f.Entry.Key) && f.Rule.Kind != ConfInvalid {
					t.Errorf("%s: message or fix missing: %q / %q", f.Entry.Key, f.Message(kongver.MustParse(tt.to)), f.Fix())
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestConfFindingText(t *testing.T) {
	f := ConfFinding{Rule: ConfRules[2], Entry: ConfEntry{Key: "nginx_optimizations", Value: "on", Line: 4}}
	if got := f.Message(kongver.MustParse("3.4.2")); !strings.Contains(got, "nginx_optimizations was removed in Kong 3.0") || !strings.Contains(got, "silently") {
		t.Errorf("message: %q", got)
	}
	if got := f.Fix(); !strings.HasPrefix(got, "remove nginx_optimizations from kong.conf") {
		t.Errorf("fix: %q", got)
	}
}
