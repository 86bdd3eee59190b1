package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/kongver"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// checkFleetVersion: every node on the same X and edition.
func (e *engine) checkFleetVersion(pf *preflightData) {
	versions := map[string][]string{}
	editions := map[string][]string{}
	for _, h := range e.spec.Nodes {
		f, ok := pf.Facts[h]
		if !ok {
			continue
		}
		if f.Version == "" {
			e.find(Finding{Severity: SevError, Code: "not-installed", Host: h, Message: "Kong is not installed", Fix: "install Kong " + dash(e.spec.From) + " or remove the host from the inventory"})
			continue
		}
		versions[f.Version] = append(versions[f.Version], h)
		editions[f.Edition] = append(editions[f.Edition], h)
	}
	if len(versions) > 1 {
		var parts []string
		for _, v := range sortedKeys(versions) {
			parts = append(parts, v+": "+strings.Join(versions[v], ", "))
		}
		e.find(Finding{Severity: SevError, Code: "mixed-versions", Message: "nodes run different Kong versions (" + strings.Join(parts, "; ") + ")", Fix: "bring every node to the same version first"})
	}
	if len(editions) > 1 {
		e.find(Finding{Severity: SevError, Code: "mixed-editions", Message: "nodes run different Kong editions", Fix: "bring every node to the same edition first"})
	}
	for v := range versions {
		pf.From = v
	}
	for ed := range editions {
		pf.FromEdition = ed
	}
	if len(versions) == 1 && e.spec.From != "" && !sameVersion(pf.From, e.spec.From) {
		e.find(Finding{Severity: SevError, Code: "from-mismatch", Message: fmt.Sprintf("inventory says upgrade.from = %s but the nodes run %s", e.spec.From, pf.From), Fix: "correct upgrade.from in the inventory"})
	}
	if pf.From == "" && e.spec.From != "" {
		pf.From = e.spec.From
	}
}

// checkPath applies the upgrade-path policy.
func (e *engine) checkPath(pf *preflightData) {
	to := e.toVersion()
	from, err := kongver.ParseReported(pf.From)
	if err != nil {
		if pf.From != "" {
			e.find(Finding{Severity: SevError, Code: "bad-version", Message: err.Error()})
		}
		return
	}
	d := upgradepath.Check(from, to, pf.FromEdition, string(e.spec.Edition))
	switch {
	case d.MultiHop:
		e.planHops(pf, d) // hops.go
	case !d.Allowed:
		e.find(Finding{Severity: SevError, Code: "upgrade-path", Message: d.Reason, Fix: chainFix(d)})
	default:
		e.find(Finding{Severity: SevInfo, Code: "upgrade-path", Message: d.Reason})
	}
	if d.EditionSwitch {
		msg := fmt.Sprintf("edition switch %s → %s", dash(pf.FromEdition), e.spec.Edition)
		if e.spec.Edition == inventory.EditionOSS {
			msg = fmt.Sprintf("%s needs the enterprise edition (OSS stopped after %s)", to, upgradepath.LastOSS)
		}
		e.find(Finding{Severity: SevWarning, Code: "edition-switch", Message: msg, Fix: "package kong-enterprise-edition; apply the Enterprise license after the upgrade"})
	}
	for _, n := range d.Notes {
		e.find(Finding{Severity: SevWarning, Code: "upgrade-note", Message: n})
	}
}

func chainFix(d upgradepath.Decision) string {
	if len(d.Chain) == 0 {
		return ""
	}
	return "run one upgrade per hop: " + d.ChainString()
}

// checkNodes: disk, plugin sets, breaking conf, running state.
func (e *engine) checkNodes(pf *preflightData) {
	from, err1 := kongver.ParseReported(pf.From)
	to := e.toVersion()
	mig := pf.Facts[e.spec.MigrationHost]
	seenConf := map[string]bool{}
	for _, h := range e.spec.Nodes {
		f, ok := pf.Facts[h]
		if !ok {
			continue
		}
		if !f.Running {
			e.find(Finding{Severity: SevWarning, Code: "not-running", Host: h, Message: "Kong is not running before the upgrade", Fix: "start it, or accept that it will be started on Y"})
		}
		if fleet.FirstListen(f.Conf["admin_listen"]) == "off" {
			// Found before the downtime, not when Y never reads healthy.
			e.find(Finding{Severity: SevError, Code: "admin-api-off", Host: h,
				Message: "admin_listen is off: kongctl checks the version Kong runs, and reads /metrics for the gates, through the node's own Admin API",
				Fix:     "let the Admin API listen on the node's loopback at least (admin_listen = 127.0.0.1:8001): it stays closed to the network"})
		}
		if h != e.spec.MigrationHost && mig.Plugins != nil && !sameSet(f.Plugins, mig.Plugins) {
			e.find(Finding{Severity: SevError, Code: "plugins", Host: h,
				Message: fmt.Sprintf("loaded plugins differ from the migration node %s (only here: %s; only there: %s)", e.spec.MigrationHost, strings.Join(minus(f.Plugins, mig.Plugins), ","), strings.Join(minus(mig.Plugins, f.Plugins), ",")),
				Fix:     "make the plugins setting identical on every node: migrations only cover plugins loaded on the node that runs them"})
		}
		if err1 == nil {
			for _, is := range upgradepath.CheckConf(f.Conf, from, to) {
				if seenConf[is.Key+"="+is.Value] {
					continue
				}
				seenConf[is.Key+"="+is.Value] = true
				e.find(Finding{Severity: Severity(is.Severity), Code: "kong-conf", Host: h, Message: is.Message, Fix: is.Fix})
			}
		}
	}
	if _, ok := pf.Facts[e.spec.MigrationHost]; !ok && e.spec.MigrationHost != "" {
		if !slices.Contains(e.allHosts(), e.spec.MigrationHost) {
			e.find(Finding{Severity: SevError, Code: "migration-host", Message: fmt.Sprintf("migration host %q is not a kong or spare host of this upgrade", e.spec.MigrationHost)})
		}
	}
}

// checkSpares: new-hosts mode targets are empty and have room.
func (e *engine) checkSpares(pf *preflightData) {
	if !e.spec.NewHosts {
		return
	}
	for _, h := range e.spec.Spares {
		f, ok := pf.Facts[h]
		if !ok {
			continue
		}
		if f.Running {
			e.find(Finding{Severity: SevError, Code: "spare-running", Host: h, Message: "the spare host already runs Kong", Fix: "stop Kong on the spare, or remove its spare role"})
		}
	}
}

// checkDatabase: reachable from the migration node, schema state, Kong's
// live migration lock.
func (e *engine) checkDatabase(ctx context.Context, pf *preflightData) {
	mh := e.spec.MigrationHost
	// In new-hosts mode the spare has no Kong yet; ask an X node.
	asker := mh
	if e.spec.NewHosts && len(e.spec.Nodes) > 0 {
		asker = e.spec.Nodes[0]
	}
	n, err := e.node(ctx, asker)
	if err == nil {
		st, err := n.Migrations(ctx, fleet.MigrationsRequest{Command: "list", DBTimeout: e.spec.Timeouts.Migrations})
		switch {
		case err != nil:
			e.find(Finding{Severity: SevError, Code: "db-unreachable", Host: asker, Message: "kong migrations list: " + e.red.err(err), Fix: "check the database settings in kong.conf and that the node can reach the database"})
		case st.ExitCode == 1:
			e.find(Finding{Severity: SevError, Code: "db-unreachable", Host: asker, Message: "the node cannot reach the database: " + e.red.redact(firstLine(st.Output)), Fix: "check pg_host/pg_port/pg_user in kong.conf and the database's pg_hba.conf"})
		case st.NeedsBootstrap || st.ExitCode == 3:
			e.find(Finding{Severity: SevError, Code: "db-bootstrap", Host: asker, Message: "the database needs bootstrapping: wrong database or schema, or not a Kong database", Fix: "check pg_database and pg_schema in kong.conf"})
		case len(st.Pending) > 0 || st.ExitCode == 4:
			e.find(Finding{Severity: SevError, Code: "pending-migrations", Host: asker,
				Message: fmt.Sprintf("the database has pending migrations from an earlier upgrade that was never finished (%s)", strings.Join(st.Pending, ", ")),
				Fix:     fmt.Sprintf("on %s (still on %s) run `kong migrations finish`, check `kong migrations list` exits 0, then run the upgrade again", asker, dash(pf.From))})
		case len(st.New) > 0 || st.ExitCode == 5:
			e.find(Finding{Severity: SevError, Code: "new-migrations", Host: asker,
				Message: fmt.Sprintf("the database is behind the installed Kong %s (new migrations: %s)", dash(pf.From), strings.Join(st.New, ", ")),
				Fix:     "run `kong migrations up` and `kong migrations finish` for the current version first"})
		}
	}
	db, err := e.database(ctx)
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "db-tools", Host: e.spec.ToolsHost, Message: e.red.err(err)})
		return
	}
	ml, err := db.MigrationLock(ctx)
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "db-tools", Host: e.spec.ToolsHost, Message: "inspect Kong's migrations lock: " + e.red.err(err)})
		return
	}
	if ml.Held && e.clk.Now().Before(ml.Expires) {
		e.find(Finding{Severity: SevError, Code: "migration-lock", Message: fmt.Sprintf("Kong's migrations lock is held (owner %s, expires %s): a `kong migrations` command is running or died recently", ml.Owner, ml.Expires.Format("15:04:05")),
			Fix: "wait until it expires (Kong deletes expired rows itself) and make sure no other migrations run"})
	}
}

// checkFleetLock reports a held fleet lock now, before the lock phase.
func (e *engine) checkFleetLock(ctx context.Context) {
	l, err := e.fleetLocker(ctx)
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "fleet-lock", Message: e.red.err(err)})
		return
	}
	info, held, err := l.Inspect(ctx)
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "fleet-lock", Message: "inspect the fleet lock: " + e.red.err(err)})
		return
	}
	if held && info.RunID != e.runID {
		e.find(lockFinding(info, e.clk.Now(), e.spec.InventoryPath))
	}
}

// checkHybrid: every data plane (inventory and the CP's view) must be
// compatible with Y on the control planes.
func (e *engine) checkHybrid(ctx context.Context, pf *preflightData) {
	var cps []string
	for _, h := range e.spec.Nodes {
		if e.spec.host(h).Has("control_plane") {
			cps = append(cps, h)
		}
	}
	if len(cps) == 0 {
		return
	}
	to := e.toVersion()
	type dp struct{ name, version, source string }
	var dps []dp
	seen := map[string]bool{}
	for _, h := range e.spec.DataPlanes {
		if f, ok := pf.Facts[h]; ok && f.Version != "" {
			dps = append(dps, dp{h, f.Version, "inventory"})
			seen[e.spec.host(h).Address] = true
			seen[h] = true
		}
	}
	for _, cp := range cps {
		n, err := e.node(ctx, cp)
		if err != nil {
			continue
		}
		list, err := n.DataPlanes(ctx)
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "hybrid", Host: cp, Message: "list data planes (/clustering/data-planes): " + e.red.err(err)})
			continue
		}
		for _, d := range list {
			if seen[d.IP] || seen[d.Hostname] || seen[d.ID] {
				continue
			}
			seen[d.IP], seen[d.Hostname], seen[d.ID] = true, true, true
			dps = append(dps, dp{d.Hostname + " (" + d.IP + ")", d.Version, "control plane " + cp})
		}
	}
	for _, d := range dps {
		v, err := kongver.ParseReported(d.version)
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "hybrid", Host: d.name, Message: "data plane version unknown: " + d.version})
			continue
		}
		if ok, why := upgradepath.DPCompatible(to, v); !ok {
			e.find(Finding{Severity: SevError, Code: "hybrid-compat", Host: d.name,
				Message: fmt.Sprintf("data plane (from %s) on %s will be refused by control planes on %s: %s", d.source, d.version, to, why),
				Fix:     "upgrade control planes only to a version whose major equals the data planes' and whose minor is not older; upgrade the data planes (rolling) in a following step"})
		} else {
			e.find(Finding{Severity: SevInfo, Code: "hybrid-compat", Host: d.name, Message: fmt.Sprintf("data plane %s stays compatible with control planes on %s", d.version, to)})
		}
	}
}
