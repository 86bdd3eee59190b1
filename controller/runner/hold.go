package runner

import (
	"context"
	"fmt"
)

// holdPackages pins Y against automatic upgrades on every host of hosts
// whose install was the lean one (its ref says DepsMet: dpkg -i / rpm -U
// alone, the hold left out of the downtime); the package manager's install
// held the others already. Call it once the fleet serves again. A hold
// that fails is a warning for its host, never a failure: Kong runs Y
// either way, and the operator can set the hold by hand.
func (e *engine) holdPackages(ctx context.Context, hosts []string) {
	_ = e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		ref := e.pf.PkgY[h]
		if !ref.DepsMet {
			return nil
		}
		n, err := e.node(ctx, h)
		if err == nil {
			err = n.HoldPackage(ctx, ref)
		}
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "hold", Host: h,
				Message: fmt.Sprintf("hold %s %s against automatic upgrades: %s", ref.Name, ref.Version, e.red.err(err)),
				Fix:     fmt.Sprintf("on %s: apt-mark hold %s (dnf versionlock add %s on RPM hosts)", h, ref.Name, ref.Name)})
		}
		return nil
	})
}
