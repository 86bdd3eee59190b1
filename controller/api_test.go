package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
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

// A given connector is the one the call runs on, and the call's result
// comes back as it is.
func TestWithFleetKeepsTheGivenConnector(t *testing.T) {
	type stub struct{ fleet.Connector }
	given := stub{}
	got, err := withFleet(context.Background(), Options{Connector: given}, func(_ context.Context, o Options) (string, error) {
		if o.Connector != given {
			t.Errorf("call ran on %v, want the given connector", o.Connector)
		}
		return "ran", nil
	})
	if got != "ran" || err != nil {
		t.Errorf("withFleet: %q, %v", got, err)
	}
}
