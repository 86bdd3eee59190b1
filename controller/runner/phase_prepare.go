package runner

import (
	"context"
	"fmt"
)

// prepareSteps: Y installed on a new host, kong.conf carried.
const prepareSteps hostSteps = "prepare/"

// preparePhase installs Y on the spare hosts and carries kong.conf from an
// X node, all before the stop.
type preparePhase struct{}

func (preparePhase) name() PhaseName { return PhasePrepare }

func (preparePhase) total(e *engine) int { return len(e.spec.targets()) }

func (preparePhase) run(ctx context.Context, e *engine) error {
	src, err := e.node(ctx, e.spec.Nodes[0])
	if err != nil {
		return err
	}
	conf, err := src.ReadConf(ctx)
	if err != nil {
		return fmt.Errorf("read kong.conf on %s: %w", e.spec.Nodes[0], err)
	}
	if e.spec.DualCluster {
		// Y runs on its own database, restored from X's backup.
		if conf, err = e.targetConf(conf); err != nil {
			return err
		}
	}
	return e.forEach(ctx, e.spec.Spares, 8, func(ctx context.Context, h string) error {
		return e.step(ctx, PhasePrepare, prepareSteps.of(h), h, func(ctx context.Context) (any, error) {
			// Installed and checked before the stop: the window is then
			// stop, migrations and start only. Detached, as the window's
			// installs: a controller killed here never cuts dpkg off.
			if err := e.installDetached(ctx, "prepare", prepareSteps.of(h), h, e.pf.PkgY[h], e.spec.To); err != nil {
				return nil, err
			}
			n, err := e.node(ctx, h)
			if err != nil {
				return nil, err
			}
			if err := n.WriteConf(ctx, conf); err != nil {
				return nil, fmt.Errorf("write kong.conf on %s: %w", h, err)
			}
			return nil, nil
		})
	})
}
