package inventory

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Upgrade strategies (upgrade.strategy).
const (
	StrategyInPlace     = "in-place"
	StrategyDualCluster = "dual-cluster"
)

// DefaultShift is the dual-cluster's traffic steps when upgrade.shift is
// not set: half of the traffic on Y, then all of it.
var DefaultShift = []int{50, 100}

// targetDBName is a database name kongctl creates for Y: a plain
// PostgreSQL identifier, no quoting needed.
var targetDBName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// decodeStrategy reads upgrade.strategy, target_database and shift.
func (d *decoder) decodeStrategy(a hcl.Attributes, u *Upgrade) {
	setAttr(a, "strategy", &u.Strategy, d.choice(StrategyInPlace, StrategyDualCluster))
	if at, ok := a["target_database"]; ok {
		if t, ok := d.decodeTargetObject(at); ok {
			u.TargetServer, u.TargetDatabase = t, t.Name
			if r, ok := t.Ranges["name"]; ok && t.Name != "" {
				d.checkTargetName(r, t.Name)
			}
		} else if v, ok := d.nonEmpty(at); ok {
			d.checkTargetName(at.Expr.Range(), v)
			u.TargetDatabase = v
		}
	}
	if at, ok := a["shift"]; ok {
		if v, ok := d.strList(at); ok {
			u.Shift = d.shiftSteps(at, v)
		}
	}
	setAttr(a, "replace_target_database", &u.ReplaceTargetDatabase, d.boolean)
	if u.Strategy == StrategyDualCluster && u.Shift == nil {
		u.Shift = slices.Clone(DefaultShift)
	}
}

// checkTargetName refuses a target database name kongctl would have to
// quote, or one of PostgreSQL's own databases (the agent connects to
// postgres to create, probe and drop the target).
func (d *decoder) checkTargetName(rng hcl.Range, name string) {
	switch {
	case !targetDBName.MatchString(name):
		d.errorf(rng, "Invalid target database name",
			"target_database %q must be a lower-case PostgreSQL identifier (letters, digits and _, not starting with a digit, at most 63), such as \"kong_y\".", name)
	case slices.Contains([]string{"postgres", "template0", "template1"}, name):
		d.errorf(rng, "Invalid target database name",
			"target_database %q is one of PostgreSQL's own databases; name a new one for Y, such as \"kong_y\".", name)
	}
}

// shiftSteps parses ["10%", "50%", "100%"]: percentages, ascending, the
// last one 100.
func (d *decoder) shiftSteps(at *hcl.Attribute, v []string) []int {
	var out []int
	for _, s := range v {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "%"))
		if err != nil || !strings.HasSuffix(s, "%") || n < 1 || n > 100 {
			d.errorf(at.Expr.Range(), "Invalid shift step",
				"shift step %q is not a percentage of traffic from 1%% to 100%%; write steps such as [\"10%%\", \"50%%\", \"100%%\"].", s)
			return nil
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			d.errorf(at.Expr.Range(), "Shift steps not ascending",
				"shift step %q does not send more traffic to Y than the step before it (%d%%); list the steps in ascending order.", s, out[len(out)-1])
			return nil
		}
		out = append(out, n)
	}
	if len(out) == 0 || out[len(out)-1] != 100 {
		d.errorf(at.Expr.Range(), "Shift does not end at 100%",
			"The last shift step must be \"100%%\": the dual-cluster upgrade ends with all traffic on Y.")
		return nil
	}
	return out
}

// validateDualCluster checks what the dual-cluster strategy needs: spare
// hosts for Y, a load balancer to shift traffic in, a target database
// other than X's, and a traditional fleet. Its attributes are refused
// with the in-place strategy.
func (d *decoder) validateDualCluster(inv *Inventory) {
	u := inv.Upgrade
	if u.Strategy != StrategyDualCluster {
		for _, name := range []string{"target_database", "shift", "replace_target_database"} {
			if r, ok := u.Ranges[name]; ok {
				d.errorf(r, "Not a dual-cluster upgrade",
					"%s applies to upgrade { strategy = \"dual-cluster\" }; this inventory upgrades in place. Remove %s, or set the strategy.", name, name)
			}
		}
		return
	}
	at := u.Ranges["strategy"]
	d.validateTargetServer(inv)
	if len(inv.HostsWithRole(RoleSpare)) == 0 {
		d.errorf(at, "Dual-cluster without spare hosts",
			"The dual-cluster strategy installs Y on new hosts beside X: declare them with role \"spare\".")
	}
	if inv.LoadBalancer == nil {
		d.errorf(at, "Dual-cluster without a load balancer",
			"The dual-cluster strategy shifts traffic from X to Y through the load balancer: add a load_balancer \"haproxy\" block.")
	}
	if len(inv.HostsWithRole(RoleControlPlane)) > 0 {
		d.errorf(at, "Dual-cluster of a hybrid fleet",
			"kongctl runs the dual-cluster strategy for traditional fleets only; upgrade the control planes in place.")
	}
	if u.TargetDatabase == "" && u.TargetServer == nil {
		d.errorf(at, "Dual-cluster without a target database",
			"Set target_database to the new database Y runs on (e.g. target_database = \"kong_y\"): kongctl restores X's verified backup into it on the same PostgreSQL server; X's database is never written.")
	} else if db := inv.Database; db != nil && u.TargetServer == nil && u.TargetDatabase == db.Name {
		d.errorf(u.Ranges["target_database"], "Target database is X's",
			"target_database %q is the database X runs on (database.name); Y needs a new one, such as \"%s_y\".", u.TargetDatabase, db.Name)
		if u.ReplaceTargetDatabase {
			d.errorf(u.Ranges["replace_target_database"], "Replacing X's database",
				"replace_target_database would drop %q, the database X runs on: kongctl never replaces X's database. Name a new target_database.", db.Name)
		}
	}
}

// shiftText is shift as the inventory writes it: ["50%", "100%"].
func shiftText(shift []int) []string {
	out := make([]string, len(shift))
	for i, p := range shift {
		out[i] = strconv.Itoa(p) + "%"
	}
	return out
}
