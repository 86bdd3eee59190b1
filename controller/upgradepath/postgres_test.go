package upgradepath

import (
	"net"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/kongver"
)

// The PostgreSQL requirements of kong-reference 9.7, each with its source.
func TestCheckPostgres(t *testing.T) {
	v310, v34, v28, v26 := kongver.MustParse("3.10.0.2"), kongver.MustParse("3.4.2"), kongver.MustParse("2.8.4"), kongver.MustParse("2.6.0")
	tests := []struct {
		name string
		y    kongver.Version
		s    PGServer
		want string // "code:error" or "code:warn" joined, "" none
	}{
		// constants.DATABASE.POSTGRES.MIN = "9.5", kong/db/init.lua L251-274.
		{"9.4 is below Kong's code minimum", v34, PGServer{VersionNum: 90426, Version: "9.4.26"}, "pg-version:error"},
		{"9.5 meets the minimum, outside 3.4's documented 12-16", v34, PGServer{VersionNum: 90525, Version: "9.5.25"}, "pg-version-support:warn"},
		// developer.konghq.com gateway.yml: 3.9+ supports 13-17.
		{"12 is outside 3.10's 13-17", v310, PGServer{VersionNum: 120020, Version: "12.20"}, "pg-version-support:warn"},
		{"17 is inside 3.10's 13-17", v310, PGServer{VersionNum: 170002, Version: "17.2"}, ""},
		{"17 is outside 3.4's 12-16", v34, PGServer{VersionNum: 170002, Version: "17.2"}, "pg-version-support:warn"},
		// legacy third-party.yml: 2.8 lists 9-15.
		{"9.6 is inside 2.8's range", v28, PGServer{VersionNum: 90624, Version: "9.6.24"}, ""},
		// pgmoon 1.12.0 (Kong 2.5/2.6): "don't know how to auth: 10"; 1.13.0 (2.7+) adds SCRAM.
		{"SCRAM from pg_hba on 2.6", v26, PGServer{VersionNum: 150004, Method: "scram-sha-256", MethodLine: 98}, "pg-auth:error"},
		{"SCRAM from pg_hba on 2.8", v28, PGServer{VersionNum: 150004, Method: "scram-sha-256", MethodLine: 98}, ""},
		// PostgreSQL auth-password: md5 with a SCRAM verifier does SCRAM.
		{"md5 rule with a SCRAM verifier on 2.6", v26, PGServer{VersionNum: 130000, Method: "md5", MethodLine: 90, Verifier: "scram-sha-256"}, "pg-auth:error"},
		{"md5 rule with an md5 verifier on 2.6", v26, PGServer{VersionNum: 130000, Method: "md5", MethodLine: 90, Verifier: "md5"}, ""},
		{"only password_encryption hints at SCRAM on 2.6: a warning", v26, PGServer{VersionNum: 150004, PasswordEncryption: "scram-sha-256"}, "pg-auth:warn"},
		// pgmoon answers auth requests 3, 5 and 10 only: not GSSAPI (7) or SSPI (9).
		{"gss on 3.10", v310, PGServer{VersionNum: 150004, Method: "gss", MethodLine: 12}, "pg-auth:error"},
		{"ldap asks for a cleartext password", v310, PGServer{VersionNum: 150004, Method: "ldap", MethodLine: 12}, ""},
		{"reject", v310, PGServer{VersionNum: 150004, Method: "reject", MethodLine: 3}, "pg-auth:error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, is := range CheckPostgres(tt.y, tt.s) {
				sev := "warn"
				if is.Error {
					sev = "error"
				}
				got = append(got, is.Code+":"+sev)
				if strings.Contains(is.Message, "\n") || is.Message == "" {
					t.Errorf("message %q: want one line", is.Message)
				}
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
	is := CheckPostgres(v34, PGServer{VersionNum: 90426, Version: "9.4.26"})
	if is[0].Message != "Kong 3.4.2 requires postgres 9.5 or greater (currently using 9.4.26)" {
		t.Errorf("Kong's own words: %q", is[0].Message)
	}
	if is := CheckPostgres(v26, PGServer{VersionNum: 150004, Method: "scram-sha-256", MethodLine: 98}); !strings.Contains(is[0].Message, "pg_hba.conf line 98") {
		t.Errorf("the rule's line: %q", is[0].Message)
	}
}

// MatchHBA applies pg_hba's first-match rule (PostgreSQL docs,
// auth-pg-hba-conf) to the Kong user's TCP connections.
func TestMatchHBA(t *testing.T) {
	rules := []HBARule{
		{Line: 1, Type: "local", Databases: []string{"all"}, Users: []string{"all"}, Method: "peer"},
		{Line: 2, Type: "host", Databases: []string{"replication"}, Users: []string{"all"}, Address: "0.0.0.0/0", Method: "reject"},
		{Line: 3, Type: "host", Databases: []string{"kong"}, Users: []string{"kong"}, Address: "198.18.0.0", Netmask: "255.255.0.0", Method: "md5"},
		{Line: 4, Type: "hostssl", Databases: []string{"all"}, Users: []string{"+admins"}, Address: "10.0.0.0/8", Method: "gss"},
		{Line: 5, Type: "host", Databases: []string{"all"}, Users: []string{"all"}, Address: "all", Method: "scram-sha-256"},
	}
	for _, tt := range []struct {
		db, user string
		ip       string
		line     int
	}{
		{"kong", "kong", "198.18.4.10", 3},
		{"kong", "kong", "10.1.2.3", 4}, // +group membership is taken to match
		{"kong", "other", "192.0.2.1", 5},
		{"kong", "kong", "", 3}, // no client address known: any address
	} {
		var ips []net.IP
		if tt.ip != "" {
			ips = []net.IP{net.ParseIP(tt.ip)}
		}
		r, ok := MatchHBA(rules, tt.db, tt.user, ips)
		if !ok || r.Line != tt.line {
			t.Errorf("%s@%s from %s: line %d (%v), want %d", tt.user, tt.db, tt.ip, r.Line, ok, tt.line)
		}
	}
	if _, ok := MatchHBA(rules[:3], "kong", "kong", []net.IP{net.ParseIP("192.0.2.1")}); ok {
		t.Error("no rule matches: want none")
	}
}
