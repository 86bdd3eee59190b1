package runner

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The install's steps: Y installed on a node, and (undo) X reinstalled.
const (
	installSteps  hostSteps = "install/"
	installXSteps hostSteps = "rollback/install-x/"
)

// installPhase installs Y on every node (the migration node first, the
// others beside its migrations: windowPhase); the agent checks the
// installed version. Undo: reinstall X from the package kept on the node.
type installPhase struct{}

func (installPhase) name() PhaseName { return PhaseInstall }

func (installPhase) total(e *engine) int { return len(e.spec.targets()) }

// run installs Y everywhere at once; like stopPhase.run, the pipeline
// runs the install inside the window instead.
func (installPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.Nodes, nodeLimit, e.installY)
}

// installY installs Y on h as a journaled step. Every node but the
// migration node installs off the critical path, at a lower CPU priority.
// The install runs detached on the node (installDetached): a controller
// that dies or stops waiting never cuts the package manager off.
func (e *engine) installY(ctx context.Context, h string) error {
	return e.step(ctx, PhaseInstall, installSteps.of(h), h, func(ctx context.Context) (any, error) {
		ref := e.pf.PkgY[h]
		ref.Background = h != e.spec.MigrationHost
		return nil, e.installDetached(ctx, "install", installSteps.of(h), h, ref, e.spec.To)
	})
}

func (installPhase) undo(ctx context.Context, e *engine) error {
	hosts := e.startedOn(e.spec.Nodes, installSteps)
	return e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		return e.undoStep(ctx, PhaseInstall, installXSteps.of(h), h, func(ctx context.Context) error {
			return e.installDetached(ctx, "install-x", installXSteps.of(h), h, e.pf.PkgX[h], e.pf.From)
		})
	})
}

func (e *engine) install(ctx context.Context, h string, ref fleet.PackageRef, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	if ref.Version == "" {
		return fmt.Errorf("install kong %s on %s: no package resolved", want, h)
	}
	// The node checks `kong version` against the package's version
	// before it answers: no second round trip to ask again.
	if err := n.InstallPackage(ctx, ref, e.spec.Timeouts.Install); err != nil {
		return fmt.Errorf("install kong %s on %s: %w", want, h, err)
	}
	return nil
}
