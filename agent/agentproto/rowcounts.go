package agentproto

import (
	"fmt"
	"regexp"
)

// RowCountsParams counts the rows of Kong tables (db.row_counts): what
// the controller sizes the migration timeouts from.
type RowCountsParams struct {
	DB DBConn `json:"db"`
	// Tables are unqualified names in DB's schema.
	Tables []string `json:"tables"`
}

// Secrets implements SecretHolder.
func (p *RowCountsParams) Secrets() []string { return p.DB.Secrets() }

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate checks the params: 1-64 plain table names.
func (p *RowCountsParams) Validate() error {
	if len(p.Tables) == 0 || len(p.Tables) > 64 {
		return fmt.Errorf("tables: want 1-64 names, got %d", len(p.Tables))
	}
	for _, t := range p.Tables {
		if !tableName.MatchString(t) {
			return fmt.Errorf("table %q: not a plain table name", t)
		}
	}
	return nil
}

// RowCountsResult has the exact row count of each table that exists
// (count(*)); Missing lists the others.
type RowCountsResult struct {
	Rows    map[string]int64 `json:"rows"`
	Missing []string         `json:"missing,omitempty"`
}
