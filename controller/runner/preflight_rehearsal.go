package runner

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// checkRehearsalHost checks the host of role rehearsal before anything
// else uses it: it answers, runs the fleet's OS family (Y's package is the
// fleet's), reaches the database server, and Kong's database role may
// create the scratch database. Its disk is checked with the packages
// (checkRehearsalDisk). A failed check is an error naming the host; a role
// without CREATEDB refuses an upgrade unless --no-rehearsal, and tells the
// plan that the rehearsal cannot run.
func (e *engine) checkRehearsalHost(ctx context.Context, pf *preflightData) {
	h := e.spec.Rehearsal
	if h == "" {
		return
	}
	if e.spec.NoRehearsal {
		pf.RehearsalSkip = "--no-rehearsal"
		e.note("rehearsal on %s skipped (--no-rehearsal)", h)
		return
	}
	if len(pf.Hops) > 0 {
		pf.RehearsalSkip = "the rehearsal runs one hop's migrations; this upgrade has several"
		e.find(Finding{Severity: SevWarning, Code: "rehearsal-hops", Host: h, Message: "rehearsal on " + h + " skipped: " + pf.RehearsalSkip + "; the migration times are estimates"})
		return
	}
	refuse := func(code, msg, fix string) {
		e.find(Finding{Severity: SevError, Code: code, Host: h, Message: "rehearsal host " + h + ": " + msg, Fix: fix})
	}
	n, err := e.node(ctx, h)
	if err != nil {
		refuse("rehearsal-unreachable", e.red.err(err), "check the host's address and SSH settings in the inventory, or remove role \"rehearsal\"")
		return
	}
	f, err := n.Facts(ctx)
	if err != nil {
		refuse("rehearsal-facts", e.red.err(err), "")
		return
	}
	pf.Facts[h] = f
	if len(e.spec.Nodes) > 0 {
		want := pf.Facts[e.spec.Nodes[0]].PackageFormat
		if got := f.PackageFormat; want != "" && got != want {
			refuse("rehearsal-os", fmt.Sprintf("runs a %s-based OS, the fleet (%s) a %s-based one: Y's package would not be the fleet's", orDefault(got, "unknown"), e.spec.Nodes[0], want),
				"use a rehearsal host of the fleet's OS family")
			return
		}
	}
	if len(e.spec.Nodes) > 0 {
		if why, err := e.rehearsalEnvCheck(ctx); err != nil {
			refuse("rehearsal-env", e.red.err(err), "make the Kong service's environment readable on "+e.spec.Nodes[0])
			return
		} else if why != "" {
			e.cannotRehearse(pf, "rehearsal-env", why, "give those settings their values in the service environment or kong.conf")
			return
		}
		if why, err := e.rehearsalFilesGap(ctx); err != nil { // rehearsal_files.go
			refuse("rehearsal-files", e.red.err(err), "")
			return
		} else if why != "" {
			e.cannotRehearse(pf, "rehearsal-files", why, "put the files at those paths (custom plugin code: name its package in upgrade.package.plugin_packages)")
			return
		}
	}
	if err := e.reachDatabase(ctx, n); err != nil {
		refuse("rehearsal-database", fmt.Sprintf("cannot reach the database server %s:%d: %s", e.spec.DB.Host, e.spec.DB.Port, e.red.err(err)),
			"open the database server's port to the rehearsal host (firewall, pg_hba.conf)")
		return
	}
	ok, why, err := e.canCreateScratch(ctx)
	switch {
	case err != nil:
		refuse("rehearsal-createdb", e.red.err(err), "")
	case !ok:
		e.cannotRehearse(pf, "rehearsal-createdb", why, "grant CREATEDB to Kong's database role")
	default:
		pf.Rehearsal = h
	}
}

// cannotRehearse: the rehearsal cannot run, for why. The plan warns and
// goes on without it (its migration times are estimates); the upgrade is
// refused unless --no-rehearsal. fix says what makes it run.
func (e *engine) cannotRehearse(pf *preflightData, code, why, fix string) {
	h := e.spec.Rehearsal
	if e.plan {
		pf.RehearsalSkip = why
		e.find(Finding{Severity: SevWarning, Code: code, Host: h,
			Message: "the rehearsal cannot run: " + why + "; the migration times below are estimates",
			Fix:     fix + "; `kongctl upgrade` asks for --no-rehearsal to go on without it"})
		return
	}
	e.find(Finding{Severity: SevError, Code: code, Host: h, Message: "rehearsal host " + h + ": the rehearsal cannot run: " + why,
		Fix: fix + ", or pass --no-rehearsal to upgrade without a rehearsal"})
}

// reachDatabase opens a TCP connection from the node to the database
// server (bash's /dev/tcp, bounded by timeout); the address goes in the
// environment, not the command line.
func (e *engine) reachDatabase(ctx context.Context, n fleet.Node) error {
	port := e.spec.DB.Port
	if port == 0 {
		port = 5432
	}
	_, err := execOK(ctx, n, "connect", fleet.ExecRequest{
		Command: `timeout 10 bash -c 'exec 3<>"/dev/tcp/$KONGCTL_DB_HOST/$KONGCTL_DB_PORT"'`,
		Env:     map[string]string{"KONGCTL_DB_HOST": e.spec.DB.Host, "KONGCTL_DB_PORT": strconv.Itoa(port)},
		Timeout: 20 * time.Second,
	})
	return err
}

// canCreateScratch asks the database whether Kong's role may create the
// scratch database.
func (e *engine) canCreateScratch(ctx context.Context) (bool, string, error) {
	db, err := e.database(ctx)
	if err != nil {
		return false, "", err
	}
	sdb, ok := db.(fleet.ScratchDB)
	if !ok {
		return false, "the database adapter keeps no scratch copy", nil
	}
	return sdb.CanCreateDB(ctx)
}

// checkRehearsalDisk: the rehearsal host has room for Y's package and its
// installation, as a target does (diskNeeded).
func (e *engine) checkRehearsalDisk(pf *preflightData) {
	h := pf.Rehearsal
	if h == "" {
		return
	}
	f := pf.Facts[h]
	if f.DiskFreeBytes < 0 {
		return
	}
	if need := e.diskNeeded(pf, h); f.DiskFreeBytes < need {
		e.find(Finding{Severity: SevError, Code: "rehearsal-disk", Host: h,
			Message: fmt.Sprintf("rehearsal host %s: %d MiB free, %d MiB needed to install %s", h, f.DiskFreeBytes>>20, need>>20, e.spec.To),
			Fix:     "free disk space on the rehearsal host"})
	}
}
