package runner

import (
	"context"
	"errors"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// lockDownCluster is a fake connector whose fleet lock cannot be reached.
type lockDownCluster struct{ *fakeCluster }

func (lockDownCluster) Locker(context.Context) (fleet.Locker, error) {
	return nil, errors.New("ssh db: connection refused")
}

// TestStatusLockUnknown: a fleet lock status could not read is reported as
// unknown, with why, never as free.
func TestStatusLockUnknown(t *testing.T) {
	inv := labInventory(t, "pw-123")
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	st, err := Status(context.Background(), Options{Inventory: inv, Connector: lockDownCluster{c}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lock != nil || st.LockErr != "connect to fleet lock: ssh db: connection refused" {
		t.Errorf("lock %+v, lock error %q", st.Lock, st.LockErr)
	}
}
