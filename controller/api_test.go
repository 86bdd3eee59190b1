package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/inventory"
)

// Without a connector the production one is built from the inventory,
// which must say how to reach the database.
func TestConnectBuildsTheSSHConnector(t *testing.T) {
	if _, err := Status(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "no inventory") {
		t.Errorf("no inventory: %v", err)
	}
	_, err := Plan(context.Background(), Options{Inventory: &inventory.Inventory{}})
	if err == nil || !strings.Contains(err.Error(), "no database or upgrade block") {
		t.Errorf("an inventory without a database: %v", err)
	}
}
