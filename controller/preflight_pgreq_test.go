package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

func (d fakeDB) ServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error) {
	if err := d.c.record("db server-info " + kongUser); err != nil {
		return upgradepath.PGServer{}, nil, err
	}
	return d.c.pg, d.c.hba, nil
}

// A server below Kong's minimum, or an auth method Y's driver lacks, is
// refused in preflight in one line each, before any stop; a version
// outside the documented range is a warning only.
func TestPostgresRequirements(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
		c.pg = upgradepath.PGServer{VersionNum: 90426, Version: "9.4.26"}
		c.hba = []upgradepath.HBARule{{Line: 7, Type: "host", Databases: []string{"all"}, Users: []string{"all"}, Address: "all", Method: "gss"}}
		r, _ := upgrade(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
		if r.Outcome != Failed || countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
			t.Fatalf("outcome %s, calls %q", r.Outcome, c.Calls())
		}
		var got []string
		for _, f := range r.Findings {
			if strings.HasPrefix(f.Code, "pg-") && f.Severity == SevError && !strings.Contains(f.Message, "\n") {
				got = append(got, f.Code+": "+f.Message)
			}
		}
		want := []string{"pg-version: Kong 3.4.2 requires postgres 9.5 or greater (currently using 9.4.26)",
			"pg-auth: the Kong user authenticates with gss (pg_hba.conf line 7): Kong's driver (pgmoon) answers cleartext, md5 and SCRAM-SHA-256 only"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("outside the documented range: a warning", func(t *testing.T) {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
		c.pg = upgradepath.PGServer{VersionNum: 170002, Version: "17.2", PasswordEncryption: "scram-sha-256"}
		r, err := upgrade(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
		if err != nil || r.Outcome != Succeeded {
			t.Fatalf("outcome %s: %s %v", r.Outcome, r.Error, err)
		}
		found := false
		for _, f := range r.Findings {
			found = found || f.Code == "pg-version-support" && f.Severity == SevWarning && strings.Contains(f.Message, "(12 to 16)")
		}
		if !found {
			t.Errorf("no warning: %+v", r.Findings)
		}
	})
}
