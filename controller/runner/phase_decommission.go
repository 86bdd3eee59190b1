package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The decommission's steps: Kong removed from an old host, and (undo)
// reinstalled with its kong.conf.
const (
	decommissionSteps   hostSteps = "decommission/"
	undecommissionSteps hostSteps = "rollback/undecommission/"
)

// PhaseDecommission removes Kong from the old hosts (new-hosts mode, on
// request), after verify passed.
const PhaseDecommission PhaseName = "decommission"

// decommissionPhase runs only in new-hosts mode when the operator asked
// for it (upgrade.decommission or --decommission), after the new hosts
// passed verify: never before. On every old host it makes sure Kong is
// stopped, keeps kong.conf on the bastion (the run directory's
// decommission/<host>/kong.conf, 0600: it may hold secrets), keeps X's
// package staged on the host, and removes the Kong package. Y is serving
// by then: a host that cannot be decommissioned is reported and the run
// still succeeds (nothing is rolled back for it). A later `kongctl
// rollback` of the run reinstalls X from the kept package and puts the
// kept kong.conf back (undo, which runs before stopPhase.undo starts X).
type decommissionPhase struct{}

func (decommissionPhase) name() PhaseName { return PhaseDecommission }

// decommissioned is a decommission step's journal data.
type decommissioned struct {
	ConfBackup string           `json:"conf_backup"`
	Package    fleet.PackageRef `json:"package"`
}

func (decommissionPhase) run(ctx context.Context, e *engine) error {
	_ = e.forEach(ctx, e.spec.Nodes, 8, func(ctx context.Context, h string) error {
		err := e.step(ctx, PhaseDecommission, decommissionSteps.of(h), h, func(ctx context.Context) (any, error) {
			return e.decommission(ctx, h)
		})
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "decommission", Host: h, Message: e.red.err(err),
				Fix: fmt.Sprintf("the new hosts serve %s; decommission %s by hand, or run the upgrade's cleanup again", e.spec.To, h)})
			return err
		}
		var d decommissioned
		if e.j != nil && stepData(e.j, decommissionSteps.of(h), &d) {
			e.find(Finding{Severity: SevInfo, Code: "decommissioned", Host: h,
				Message: fmt.Sprintf("Kong %s stopped and removed; kong.conf kept on the bastion at %s, the %s package kept staged on the host for a rollback", e.pf.From, d.ConfBackup, d.Package.Version)})
		}
		return nil
	})
	return nil
}

func (e *engine) decommission(ctx context.Context, h string) (any, error) {
	n, err := e.node(ctx, h)
	if err != nil {
		return nil, err
	}
	f, err := n.Facts(ctx)
	if err != nil {
		return nil, fmt.Errorf("facts of %s before decommission: %w", h, err)
	}
	if f.Running {
		// The stop phase left it down; someone started it since.
		if err := n.Stop(ctx, e.spec.Timeouts.Stop); err != nil {
			return nil, fmt.Errorf("stop kong on %s before decommission: %w", h, err)
		}
	}
	d := decommissioned{Package: e.pf.PkgX[h]}
	if e.j == nil {
		return nil, fmt.Errorf("decommission %s: no run directory to keep its kong.conf in", h)
	}
	conf, err := n.ReadConf(ctx)
	if err != nil {
		return nil, fmt.Errorf("keep kong.conf of %s: %w", h, err)
	}
	d.ConfBackup = filepath.Join(e.j.Dir(), "decommission", h, "kong.conf")
	if err := writePrivate(d.ConfBackup, conf); err != nil {
		return nil, fmt.Errorf("keep kong.conf of %s on the bastion: %w", h, err)
	}
	if d.Package.Version != "" {
		// X stays staged on the host: a rollback reinstalls it from there.
		if _, err := n.StagePackage(ctx, d.Package); err != nil {
			return nil, fmt.Errorf("keep %s %s staged on %s: %w", d.Package.Name, d.Package.Version, h, err)
		}
	}
	ref := fleet.PackageRef{Name: packageName(orDefault(f.Edition, e.pf.FromEdition)), Version: f.Version, Format: f.PackageFormat}
	if err := n.RemovePackage(ctx, ref); err != nil {
		return nil, fmt.Errorf("remove kong from %s: %w", h, err)
	}
	after, err := n.Facts(ctx)
	if err != nil {
		return nil, fmt.Errorf("facts of %s after decommission: %w", h, err)
	}
	if after.Version != "" {
		return nil, fmt.Errorf("remove kong from %s: kong %s is still installed", h, after.Version)
	}
	return d, nil
}

// writePrivate writes b to p, owner-only, through a temporary file.
func writePrivate(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".partial"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// undecommission puts X back on a decommissioned old host before the
// rollback starts it: X's kept package reinstalled, kong.conf restored
// from the bastion copy.
// undo reinstalls X, with its kong.conf, on every host the run
// decommissioned; starting X is stopPhase.undo's, which runs after it.
func (decommissionPhase) undo(ctx context.Context, e *engine) error {
	var hosts []string
	for _, h := range e.spec.Nodes {
		if e.j != nil && stepDone(e.j, decommissionSteps.of(h)) {
			hosts = append(hosts, h)
		}
	}
	return e.forEach(ctx, hosts, nodeLimit, e.undecommission)
}

func (e *engine) undecommission(ctx context.Context, h string) error {
	var d decommissioned
	if e.j == nil || !stepDone(e.j, decommissionSteps.of(h)) || !stepData(e.j, decommissionSteps.of(h), &d) {
		return nil
	}
	return e.undoStep(ctx, PhaseDecommission, undecommissionSteps.of(h), h, func(ctx context.Context) error {
		if d.Package.Version == "" {
			return fmt.Errorf("reinstall kong %s on %s: the decommission kept no package", e.pf.From, h)
		}
		if err := e.installDetached(ctx, "undecommission", undecommissionSteps.of(h), h, d.Package, e.pf.From); err != nil {
			return err
		}
		conf, err := os.ReadFile(d.ConfBackup)
		if err != nil {
			return fmt.Errorf("restore kong.conf of %s: %w", h, err)
		}
		n, err := e.node(ctx, h)
		if err != nil {
			return err
		}
		if err := n.WriteConf(ctx, conf); err != nil {
			return fmt.Errorf("restore kong.conf of %s: %w", h, err)
		}
		return nil
	})
}
