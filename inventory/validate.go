package inventory

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// validate checks the cross-references between blocks once everything is
// decoded.
func (d *decoder) validate(inv *Inventory, body hcl.Body, hostAt map[string]*Host, groupAt map[string]*Group, globalJump hcl.Range) {
	hostNames := make([]string, 0, len(inv.Hosts))
	for _, h := range inv.Hosts {
		hostNames = append(hostNames, h.Name)
	}
	names := slices.Clone(hostNames)
	for _, g := range inv.Groups {
		names = append(names, g.Name)
	}

	// Groups name known hosts.
	for _, g := range inv.Groups {
		for _, n := range g.Hosts {
			if _, ok := hostAt[n]; !ok {
				d.errorf(g.hostsRange, "Unknown host in group",
					"The group %q lists %q, but no host of that name is declared.%s Declare it with a host %q block or remove it from the group.",
					g.Name, n, didYouMean(n, hostNames), n)
			}
		}
	}

	// Jump hosts exist and are bastions. The global list is checked once;
	// a host's own list where it sets one.
	checkJump := func(list []string, rng hcl.Range, where string) {
		for _, n := range list {
			h, ok := hostAt[n]
			switch {
			case !ok:
				d.errorf(rng, "Unknown jump host",
					"The jump list %s names %q, but no host of that name is declared.%s Jump hosts are hosts with role \"bastion\".", where, n, didYouMean(n, hostNames))
			case !h.Has(RoleBastion):
				d.errorf(rng, "Jump host is not a bastion",
					"The jump list %s names %q (declared at %s), which does not have role \"bastion\". Add \"bastion\" to its roles or remove it from jump.", where, n, posString(h.NameRange))
			}
		}
	}
	if globalJump != (hcl.Range{}) {
		checkJump(inv.SSH.Jump, globalJump, "in the ssh block")
	}
	for _, h := range inv.Hosts {
		if h.jumpRange != (hcl.Range{}) {
			checkJump(h.SSH.Jump, h.jumpRange, fmt.Sprintf("of host %q", h.Name))
		}
		// A bastion in the chain is reached through the bastions before it.
		if i := slices.Index(h.SSH.Jump, h.Name); i >= 0 {
			h.SSH.Jump = h.SSH.Jump[:i]
		}
	}

	// Shared address and port is almost always a copy-paste slip.
	seen := map[string]*Host{}
	for _, h := range inv.Hosts {
		key := fmt.Sprintf("%s:%d", h.Address, h.Port)
		if prev, ok := seen[key]; ok && h.Address != "" {
			d.warnf(h.Ranges["address"], "Duplicate address",
				"The host %q has the same address and port as %q (declared at %s). If they are really one machine, declare it once with both roles.", h.Name, prev.Name, posString(prev.NameRange))
			continue
		}
		seen[key] = h
	}

	// At least one node that can run migrations.
	if !slices.ContainsFunc(inv.Hosts, (*Host).CanMigrate) && !d.diags.HasErrors() {
		d.errorf(body.MissingItemRange(), "No Kong nodes",
			"The inventory declares no host with role \"kong\" (or \"control_plane\" in hybrid mode), so there is nothing to upgrade. Add one, e.g.\n  host \"kong-1\" {\n    address = \"10.0.0.11\"\n    roles   = [\"kong\"]\n  }")
	}

	// At most one rehearsal host: one scratch copy at a time.
	rs := inv.HostsWithRole(RoleRehearsal)
	for _, h := range rs[min(1, len(rs)):] {
		d.errorf(h.NameRange, "More than one rehearsal host",
			"The host %q has role \"rehearsal\", and so does %q (declared at %s); a run rehearses on one host. Keep the role on one of them.", h.Name, rs[0].Name, posString(rs[0].NameRange))
	}

	if db := inv.Database; db != nil {
		if db.Host == "" {
			if dbs := inv.HostsWithRole(RoleDatabase); len(dbs) > 0 {
				db.Host = dbs[0].Address
			} else {
				d.errorf(db.DeclRange, "Missing database host",
					"Set host to the database address as the Kong nodes reach it (e.g. host = \"10.0.0.5\"), or declare a host with role \"database\".")
			}
		}
		if db.ToolsHost != "" {
			if _, ok := hostAt[db.ToolsHost]; !ok {
				d.errorf(db.Ranges["tools_host"], "Unknown tools host",
					"tools_host names %q, but no host of that name is declared.%s It names the host that runs pg_dump and pg_restore.", db.ToolsHost, didYouMean(db.ToolsHost, hostNames))
			}
		}
	}

	if u := inv.Upgrade; u != nil {
		d.validateDualCluster(inv)
		if u.Decommission && len(inv.HostsWithRole(RoleSpare)) == 0 {
			d.errorf(u.Ranges["decommission"], "Nothing to decommission",
				"decommission removes Kong from the old hosts after an upgrade onto new hosts (hosts with role \"spare\"); this inventory upgrades its hosts in place. Remove decommission, or add the new hosts with role \"spare\".")
		}
		if u.MigrationHost != "" {
			h, ok := hostAt[u.MigrationHost]
			switch {
			case !ok:
				d.errorf(u.Ranges["migration_host"], "Unknown migration host",
					"migration_host names %q, but no host of that name is declared.%s", u.MigrationHost, didYouMean(u.MigrationHost, hostNames))
			case !h.CanMigrate():
				d.errorf(u.Ranges["migration_host"], "Migration host is not a Kong node",
					"migration_host %q (declared at %s) must have role \"kong\" or \"control_plane\": migrations run on a Kong node with database access. Name such a host, or remove migration_host to use the first healthy one.", u.MigrationHost, posString(h.NameRange))
			}
		}
		if u.orderAttr != nil {
			var order []string
			for _, n := range u.orderRaw {
				hs := inv.Expand(n)
				if hs == nil {
					d.errorf(u.orderAttr.Expr.Range(), "Unknown host or group in order",
						"order names %q, which is neither a host nor a group.%s", n, didYouMean(n, names))
					continue
				}
				for _, h := range hs {
					if !slices.Contains(order, h.Name) {
						order = append(order, h.Name)
					}
				}
			}
			u.Order = order
		}
	}

	for _, hk := range inv.Hooks {
		if hk.On == OnBastion {
			continue
		}
		if inv.Expand(hk.On) == nil {
			d.errorf(hk.onRange, "Unknown hook target",
				"on = %q names neither a host nor a group.%s Use \"bastion\" to run the hook where kongctl runs, or a host or group name.", hk.On, didYouMean(hk.On, append(names, OnBastion)))
		}
	}
}
