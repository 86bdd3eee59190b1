//go:build integration && !nodeagent

package agent

import (
	"context"
	"slices"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// db.row_counts: exact counts of the tables that exist, the others listed
// as missing; a name that is not a plain table name is refused.
func TestRowCounts(t *testing.T) {
	s := pgtest.Start(t)
	a := testAgent(t)
	seedKong(t, context.Background(), s)
	r, rep := call[agentproto.RowCountsResult](t, a, agentproto.OpRowCounts, agentproto.RowCountsParams{DB: dbConn(s), Tables: []string{"services", "routes", "plugins"}})
	if r == nil {
		t.Fatalf("row counts: %+v", rep.Error)
	}
	if r.Rows["services"] != 2 || r.Rows["routes"] != 1 || len(r.Rows) != 2 || !slices.Equal(r.Missing, []string{"plugins"}) {
		t.Fatalf("row counts: %+v", r)
	}
	if _, rep := call[agentproto.RowCountsResult](t, a, agentproto.OpRowCounts, agentproto.RowCountsParams{DB: dbConn(s), Tables: []string{"routes; DROP TABLE routes"}}); rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
		t.Fatalf("a table name with SQL in it: %+v", rep.Error)
	}
}
