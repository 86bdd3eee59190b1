//go:build integration && !nodeagent

package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// db.server_info on a real server: the version always; pg_hba_file_rules
// and the stored password's kind only where the role may read them (the
// Kong role may not: the reasons come back instead), never the password.
func TestServerInfo(t *testing.T) {
	s := pgtest.Start(t)
	a := testAgent(t)
	r, rep := call[agentproto.ServerInfoResult](t, a, agentproto.OpServerInfo, agentproto.ServerInfoParams{DB: dbConn(s)})
	if r == nil {
		t.Fatalf("server_info: %+v", rep.Error)
	}
	if r.VersionNum < 90500 || !strings.HasPrefix(r.Version, strings.Split(r.Version, ".")[0]) || r.PasswordEncryption == "" || r.KongUser != s.User {
		t.Errorf("server facts: %+v", r)
	}
	if r.HBARules != nil || !strings.Contains(r.HBAError, "pg_hba_file_rules") || r.Verifier != "" || r.VerifierError == "" {
		t.Errorf("an unprivileged role read pg_hba or pg_authid: %+v", r)
	}
	// As a superuser (what a DBA's tools host may use): the rules and the
	// Kong role's password kind.
	ctx := context.Background()
	sc, err := s.SuperConn(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(ctx)
	if _, err := sc.Exec(ctx, "ALTER ROLE "+s.User+" SUPERUSER"); err != nil {
		t.Fatal(err)
	}
	r, rep = call[agentproto.ServerInfoResult](t, a, agentproto.OpServerInfo, agentproto.ServerInfoParams{DB: dbConn(s)})
	if r == nil || len(r.HBARules) == 0 || r.HBAError != "" || r.Verifier != strings.ToLower(r.PasswordEncryption) {
		t.Fatalf("as a superuser: %+v %+v", r, rep.Error)
	}
	for _, h := range r.HBARules {
		if h.Method == "" || h.Line == 0 {
			t.Errorf("rule %+v", h)
		}
	}
	if _, raw := rpc(t, a, mustReq(t, agentproto.OpServerInfo, agentproto.ServerInfoParams{DB: dbConn(s)})); strings.Contains(raw, s.Password) {
		t.Error("the password came back")
	}
}
