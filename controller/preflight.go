package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/internal/filehash"
	"github.com/kongctl/kongctl/kongver"
)

// preflightPhase checks everything before any downtime: reachability and
// agent delivery, facts, one X and one edition across the fleet, the
// upgrade path, breaking kong.conf settings, disk, plugin sets, the
// database and its schema state, Kong's migration lock, the fleet lock,
// hybrid data-plane compatibility, and (not in plan mode) stages Y and X
// on every node. It fails when any finding is an error.
type preflightPhase struct{}

func (preflightPhase) name() PhaseName { return PhasePreflight }

func (preflightPhase) run(ctx context.Context, e *engine) error {
	e.redactSecrets()
	if e.prior.Done("preflight") && e.prior.Data("preflight", &e.pf) {
		e.note("preflight done before resume (X=%s, Y=%s)", e.pf.From, e.pf.To)
		return nil
	}
	pf := preflightData{To: e.spec.To, Facts: map[string]Facts{}, PkgX: map[string]PackageRef{}, PkgY: map[string]PackageRef{}, Baseline: map[string]rateSample{}}
	var mu sync.Mutex

	// Reachability, agent delivery, facts, first metric sample.
	hosts := e.allHosts()
	m0 := map[string]Metrics{}
	t0 := map[string]time.Time{}
	_ = e.forEach(ctx, hosts, bastionLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "unreachable", Host: h, Message: e.red.err(err), Fix: "check the host's address, SSH settings and known_hosts in the inventory"})
			e.hostResult(PhasePreflight, h, "failed", 0, "", err)
			return err
		}
		f, err := n.Facts(ctx)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "facts", Host: h, Message: e.red.err(err)})
			e.hostResult(PhasePreflight, h, "failed", 0, "", err)
			return err
		}
		mu.Lock()
		pf.Facts[h] = f
		mu.Unlock()
		if slices.Contains(e.spec.Nodes, h) && f.Running {
			m, err := n.Metrics(ctx)
			switch {
			case err == nil:
				mu.Lock()
				m0[h], t0[h] = m, e.clk.Now()
				mu.Unlock()
			case e.spec.Verify.hasGates():
				// The gates would find no sample after the downtime.
				e.find(Finding{Severity: SevError, Code: "metrics-unreadable", Host: h, Message: "the verify gates read /metrics, which failed: " + e.red.err(err),
					Fix: "make the Admin API's /metrics answer on the node (the prometheus plugin is bundled with Kong and must stay in `plugins`), or remove the verify gates"})
			}
		}
		e.hostResult(PhasePreflight, h, "ok", 0, fmt.Sprintf("kong %s (%s), running=%v", dash(f.Version), dash(f.Edition), f.Running), nil)
		return nil
	})

	e.checkFleetVersion(&pf)
	e.checkPath(&pf)
	e.checkNodes(&pf)
	e.checkConfRules(&pf)
	e.checkNodeKinds(&pf)
	e.checkEffectiveConf(&pf)
	e.checkEffectiveDB(&pf)
	e.checkSpares(&pf)
	e.checkDatabase(ctx, &pf)
	e.checkMigrationTimeouts(ctx, &pf)
	e.checkPostgres(ctx, &pf)
	e.checkDatabaseTLS()
	e.checkBackupKeys() // backupcrypt.go
	e.checkFleetLock(ctx)
	e.checkHybrid(ctx, &pf)
	e.checkKeyring(ctx, &pf)
	e.checkSecrets()

	// Packages: resolved and staged (Y on targets, X kept on in-place
	// nodes for rollback), before any downtime.
	e.resolvePackages(&pf)
	e.checkDisk(&pf)
	if !e.plan && len(e.errorFindings()) == 0 {
		e.stagePackages(ctx, &pf)
		e.checkConfWithY(ctx, &pf)
		e.takeKeyringExport(ctx, &pf)
	}

	// Second metric sample: the pre-upgrade error rate.
	_ = e.forEach(ctx, sortedKeys(m0), nodeLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil
		}
		if m1, err := n.Metrics(ctx); err == nil {
			mu.Lock()
			pf.Baseline[h] = rateSample{M0: m0[h], M1: m1, Seconds: e.clk.Now().Sub(t0[h]).Seconds()}
			mu.Unlock()
		}
		return nil
	})
	e.checkGatesMeasurable(&pf)

	e.pf = pf
	if errs := e.errorFindings(); len(errs) > 0 {
		// Another run holding the fleet lock explains the rest (its nodes
		// stopped, half-applied migrations, Kong's migrations lock): name
		// it first.
		first := errs[0]
		for _, f := range errs {
			if strings.HasPrefix(f.Code, "fleet-lock") {
				first = f
				break
			}
		}
		return fmt.Errorf("preflight found %d problem(s); first: %s", len(errs), first.Message)
	}
	if e.plan {
		return nil
	}
	return e.step(ctx, PhasePreflight, "preflight", "", func(context.Context) (any, error) { return pf, nil })
}

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
	d := upgradepath.Check(from, to, pf.FromEdition, e.spec.Edition)
	if !d.Allowed {
		e.find(Finding{Severity: SevError, Code: "upgrade-path", Message: d.Reason, Fix: chainFix(d)})
	} else {
		e.find(Finding{Severity: SevInfo, Code: "upgrade-path", Message: d.Reason})
	}
	if d.EditionSwitch {
		msg := fmt.Sprintf("edition switch %s → %s", dash(pf.FromEdition), e.spec.Edition)
		if e.spec.Edition == upgradepath.EditionOSS {
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
		if firstListen(f.Conf["admin_listen"]) == "off" {
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
		st, err := n.Migrations(ctx, MigrationsRequest{Command: "list", DBTimeout: e.spec.Timeouts.Migrations})
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

// redactSecrets hands the database password and the admin token to the
// redactor before anything is reported (resume included).
func (e *engine) redactSecrets() {
	for _, get := range []func() ([]byte, error){e.spec.DB.Password, e.spec.AdminToken} {
		if get == nil {
			continue
		}
		if v, err := get(); err == nil {
			e.red.add(v)
		}
	}
}

// checkSecrets: the database password and admin token references resolve
// (the values are only kept to redact them from output).
func (e *engine) checkSecrets() {
	if e.spec.AdminToken != nil {
		if _, err := e.spec.AdminToken(); err != nil {
			e.find(Finding{Severity: SevError, Code: "admin-token", Message: "resolve the " + err.Error(), Fix: "set the environment variable or file named by kong.admin_token_env / admin_token_file"})
		}
	}
	if e.spec.DB.Password == nil {
		return
	}
	pw, err := e.spec.DB.Password()
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "db-password", Message: "resolve the database password reference: " + err.Error(), Fix: "set the environment variable or file named by database.password_env / password_file"})
		return
	}
	e.red.add(pw)
}

// resolvePackages finds X's and Y's package for every target.
func (e *engine) resolvePackages(pf *preflightData) {
	want := func(h, version, edition string) (PackageRef, bool) {
		f := pf.Facts[h]
		ref := PackageRef{Name: packageName(edition), Version: version, Edition: edition, Format: orDefault(f.PackageFormat, "deb"), Arch: orDefault(f.Arch, "amd64"), Source: e.spec.Package.Source}
		if ref.Source != "file" {
			return ref, true
		}
		p, err := findPackage(e.spec.Package.Dir, ref)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package", Host: h, Message: err.Error(), Fix: "put the package in " + e.spec.Package.Dir + " (upgrade.package.dir)"})
			return ref, false
		}
		ref.LocalPath = p
		sum, err := filehash.SHA256(p)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package", Host: h, Message: err.Error()})
			return ref, false
		}
		ref.SHA256 = sum
		return ref, true
	}
	for _, h := range e.spec.targets() {
		if ref, ok := want(h, e.spec.To, e.spec.Edition); ok {
			pf.PkgY[h] = ref
		}
	}
	// X's package for the old hosts: kept for rollback in place, and on
	// hosts that will be decommissioned (a rollback reinstalls it).
	if (!e.spec.NewHosts || e.spec.Decommission) && pf.From != "" {
		for _, h := range e.spec.Nodes {
			if ref, ok := want(h, pf.From, orDefault(pf.FromEdition, "oss")); ok {
				pf.PkgX[h] = ref
			}
		}
	}
}

// checkDisk: every target has room for the packages it stages (Y, and X
// kept for rollback) and their installation. With local package files the
// need is measured from their sizes; otherwise Spec.MinDiskFree applies.
func (e *engine) checkDisk(pf *preflightData) {
	for _, h := range e.spec.targets() {
		f, ok := pf.Facts[h]
		if !ok || f.DiskFreeBytes < 0 {
			continue // unknown (-1); 0 is a full disk
		}
		need := e.diskNeeded(pf, h)
		if f.DiskFreeBytes < need {
			e.find(Finding{Severity: SevError, Code: "disk", Host: h,
				Message: fmt.Sprintf("%d MiB free, %d MiB needed to stage and install packages", f.DiskFreeBytes>>20, need>>20),
				Fix:     "free disk space on the host"})
		}
	}
}

// diskNeeded is what host h needs free: twice the staged packages (the
// staged copy and the installed files) plus a margin for logs and the
// prefix, or Spec.MinDiskFree when a package's size is unknown
// (repository source).
func (e *engine) diskNeeded(pf *preflightData, h string) int64 {
	const margin = 64 << 20
	var sum int64
	for _, ref := range []PackageRef{pf.PkgY[h], pf.PkgX[h]} {
		if ref.Version == "" {
			continue
		}
		st, err := os.Stat(ref.LocalPath)
		if ref.LocalPath == "" || err != nil {
			return e.spec.MinDiskFree
		}
		sum += st.Size()
	}
	return 2*sum + margin
}

// stagePackages copies Y (and X, kept for rollback) onto every target,
// verifies them there (checksum, the package and version inside) and
// keeps on each ref what the host found. Y's dependencies met make the
// install inside the downtime a plain dpkg -i / rpm -U (PackageRef.DepsMet).
func (e *engine) stagePackages(ctx context.Context, pf *preflightData) {
	var mu sync.Mutex // pf's maps, written per host
	_ = e.forEach(ctx, e.spec.targets(), uploadLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return err
		}
		for i, refs := range []map[string]PackageRef{pf.PkgY, pf.PkgX} {
			mu.Lock()
			ref := refs[h]
			mu.Unlock()
			if ref.Version == "" {
				continue
			}
			st, err := n.StagePackage(ctx, ref)
			if err == nil {
				err = stagedMismatch(ref, st)
			}
			if err != nil {
				e.find(Finding{Severity: SevError, Code: "stage", Host: h, Message: fmt.Sprintf("stage %s %s: %s", ref.Name, ref.Version, e.red.err(err))})
				return err
			}
			ref.FilePackage, ref.FileVersion = st.Package, st.Version
			if isY := i == 0; isY {
				ref.DepsMet = st.DepsMet
				if !st.DepsMet {
					e.find(Finding{Severity: SevInfo, Code: "install-path", Host: h, Message: fmt.Sprintf("%s %s: the installed packages do not meet its dependencies (%s): the install inside the downtime resolves them with the package manager", ref.Name, ref.Version, e.red.redact(st.DepsDetail))})
				}
			}
			mu.Lock()
			refs[h] = ref
			mu.Unlock()
		}
		return nil
	})
}

// stagedMismatch: the staged file must hold the package and version asked
// for (an rpm's release after the "-" aside).
func stagedMismatch(ref PackageRef, st StagedPackage) error {
	ver, _, _ := strings.Cut(st.Version, "-")
	if (st.Package != "" && st.Package != ref.Name) || (ver != "" && !sameVersion(ver, ref.Version)) {
		return fmt.Errorf("the staged file holds %s %s, not %s %s", dash(st.Package), dash(st.Version), ref.Name, ref.Version)
	}
	return nil
}

func packageName(edition string) string {
	if edition == upgradepath.EditionEnterprise {
		return "kong-enterprise-edition"
	}
	return "kong"
}

// findPackage looks for the package file of ref in dir.
func findPackage(dir string, ref PackageRef) (string, error) {
	rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[ref.Arch]
	var cands []string
	if ref.Format == "rpm" {
		cands = []string{
			fmt.Sprintf("%s_%s_%s.rpm", ref.Name, ref.Version, ref.Arch),
			fmt.Sprintf("%s-%s.%s.rpm", ref.Name, ref.Version, rpmArch),
			fmt.Sprintf("%s-%s.%s.rpm", ref.Name, ref.Version, ref.Arch),
		}
	} else {
		cands = []string{fmt.Sprintf("%s_%s_%s.deb", ref.Name, ref.Version, ref.Arch)}
	}
	for _, c := range cands {
		p := filepath.Join(dir, c)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("package %s %s (%s, %s) not found in %s (looked for %s)", ref.Name, ref.Version, ref.Format, ref.Arch, dir, strings.Join(cands, ", "))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func sameSet(a, b []string) bool {
	return len(minus(a, b)) == 0 && len(minus(b, a)) == 0
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// checkGatesMeasurable: a max_5xx or max_latency_p99 gate needs metrics
// that Kong exports only when the prometheus plugin is told to (3.x:
// status_code_metrics, latency_metrics). When no running X node exports
// them, the gate could never be judged after the upgrade: say so before
// anything stops.
func (e *engine) checkGatesMeasurable(pf *preflightData) {
	if len(pf.Baseline) == 0 {
		return
	}
	var codes, latency bool
	for _, b := range pf.Baseline {
		codes = codes || b.M1.StatusCodes
		latency = latency || b.M1.Latency != nil
	}
	v := e.spec.Verify
	if v.Max5xx != nil && !codes {
		e.find(Finding{Severity: SevError, Code: "gate-unmeasurable", Message: "verify.gate.max_5xx is set but no running node exports per-status counters (kong_http_requests_total), so the gate could never pass",
			Fix: "enable status_code_metrics of the prometheus plugin, or remove max_5xx"})
	}
	if v.MaxLatencyP99 > 0 && !latency {
		e.find(Finding{Severity: SevError, Code: "gate-unmeasurable", Message: "verify.gate.max_latency_p99 is set but no running node exports a request latency histogram (kong_request_latency_ms), so the gate could never pass",
			Fix: "enable latency_metrics of the prometheus plugin, or remove max_latency_p99"})
	}
}
