package runner

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/internal/settingstest"
)

func TestSpecFromInventory(t *testing.T) {
	inv := settingstest.Example(t, "production.hcl")
	s, err := SpecFromInventory(inv, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Nodes, []string{"kong-a1", "kong-a2", "kong-b1"}) && len(inv.Upgrade.Order) == 0 {
		t.Errorf("nodes %v", s.Nodes)
	}
	if s.ToolsHost != "pg-1" || s.To == "" || s.StateDir != filepath.Join(inv.Dir, ".kongctl") || s.DB.Password == nil {
		t.Errorf("spec %+v", s)
	}
	// production.hcl: kong { admin_token_env = "KONG_ADMIN_TOKEN" }.
	t.Setenv("KONG_ADMIN_TOKEN", "tok-from-env")
	if tok, err := s.AdminToken(); s.AdminToken == nil || err != nil || string(tok) != "tok-from-env" {
		t.Errorf("spec admin token: %q %v", tok, err)
	}
	if _, err := SpecFromInventory(inv, "edge", true); err == nil || !strings.Contains(err.Error(), "kong-b1") {
		t.Errorf("a limit leaving out nodes sharing the database must be refused for an upgrade: %v", err)
	}
	if _, err := SpecFromInventory(inv, "edge", false); err != nil {
		t.Errorf("status with a limit: %v", err)
	}
}
