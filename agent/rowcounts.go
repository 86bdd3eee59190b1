//go:build !nodeagent

package agent

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// rowCounts counts the rows of each named table of Kong's schema (sizes
// for the migration timeouts: no snapshot across tables is needed); a
// table that does not exist is listed as missing (the migrations that
// create it have nothing to rewrite).
func (a *Agent) rowCounts(ctx context.Context, run *opRun, p *agentproto.RowCountsParams) (*agentproto.RowCountsResult, error) {
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	res := &agentproto.RowCountsResult{Rows: map[string]int64{}}
	schema := schemaOf(p.DB)
	for _, t := range p.Tables {
		qualified := pgx.Identifier{schema, t}.Sanitize()
		var reg *string
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1)::text", qualified).Scan(&reg); err != nil {
			return nil, fmt.Errorf("look for %s: %w", qualified, err)
		}
		if reg == nil {
			res.Missing = append(res.Missing, t)
			continue
		}
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+qualified).Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s: %w", qualified, err)
		}
		res.Rows[t] = n
	}
	return res, nil
}
