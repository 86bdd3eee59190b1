package runner

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// After the start: the run's keyring export imported on each node Y (or,
// on rollback, X) serves on, until GET /keyring shows X's key ids
// (keyring.go says why).

// restoreKeyring imports the run's keyring export on h after Kong started
// there (Y forward, X on rollback) as a journaled step, and waits until
// GET /keyring shows X's key ids. Nothing to do without a cluster keyring
// on h.
func (e *engine) restoreKeyring(ctx context.Context, ph PhaseName, h string, rollback bool) error {
	kp := e.pf.Keyring
	if kp == nil || !slices.Contains(kp.Nodes, h) {
		return nil
	}
	fn := func(ctx context.Context) error { return e.importKeyring(ctx, h, kp) }
	if rollback {
		return e.undoStep(ctx, ph, keyringXSteps.of(h), h, fn)
	}
	return e.step(ctx, ph, keyringSteps.of(h), h, func(ctx context.Context) (any, error) { return nil, fn(ctx) })
}

func (e *engine) importKeyring(ctx context.Context, h string, kp *keyringPlan) error {
	kn, err := e.keyringNode(ctx, h)
	if err != nil {
		return err
	}
	want := kp.IDs
	if slices.Contains(kp.Importers, h) {
		export, err := os.ReadFile(kp.Path)
		if err != nil {
			return fmt.Errorf("import the keyring on %s: %w", h, err)
		}
		st, err := kn.KeyringImport(ctx, export)
		if err != nil {
			return fmt.Errorf("import the keyring on %s: %w", h, err)
		}
		if len(want) == 0 {
			want = st.IDs
		}
	}
	// A node without keyring_private_key gets the keys from one that
	// imported them (Kong's keyring_register cluster event), within
	// db_update_frequency.
	deadline := e.clk.Now().Add(e.spec.Timeouts.Health)
	for {
		st, err := kn.Keyring(ctx)
		if err == nil && len(want) > 0 && len(minus(want, st.IDs)) == 0 {
			return nil
		}
		if !e.clk.Now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("check the keyring on %s: %w", h, err)
			}
			return fmt.Errorf("check the keyring on %s: GET /keyring shows keys [%s], want [%s] after %s", h, strings.Join(st.IDs, ", "), strings.Join(want, ", "), e.spec.Timeouts.Health)
		}
		if err := e.clk.Sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

func (e *engine) readKeyring(ctx context.Context, h string) (fleet.KeyringState, error) {
	kn, err := e.keyringNode(ctx, h)
	if err != nil {
		return fleet.KeyringState{}, err
	}
	st, err := kn.Keyring(ctx)
	if err != nil {
		return st, fmt.Errorf("read the keyring on %s: %w", h, err)
	}
	return st, nil
}

func (e *engine) keyringNode(ctx context.Context, h string) (fleet.KeyringNode, error) {
	n, err := e.node(ctx, h)
	if err != nil {
		return nil, err
	}
	kn, ok := n.(fleet.KeyringNode)
	if !ok {
		return nil, fmt.Errorf("host %s: the connection cannot reach the keyring", h)
	}
	return kn, nil
}
