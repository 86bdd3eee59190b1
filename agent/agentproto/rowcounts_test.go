package agentproto

import (
	"strings"
	"testing"
)

func TestRowCountsParamsValidate(t *testing.T) {
	ok := RowCountsParams{Tables: []string{"plugins", "keyauth_credentials"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid names: %v", err)
	}
	many := make([]string, 65)
	for i := range many {
		many[i] = "t"
	}
	for name, p := range map[string]RowCountsParams{
		"none":      {},
		"too many":  {Tables: many},
		"qualified": {Tables: []string{"public.plugins"}},
		"sql":       {Tables: []string{"plugins; DROP TABLE plugins"}},
		"quoted":    {Tables: []string{`"Plugins"`}},
		"too long":  {Tables: []string{strings.Repeat("a", 64)}},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted %q", name, p.Tables)
		}
	}
	if s := (&RowCountsParams{DB: DBConn{Password: "pw"}}).Secrets(); len(s) == 0 || s[0] != "pw" {
		t.Errorf("secrets: %q", s)
	}
}
