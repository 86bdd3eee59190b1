package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/internal/filehash"
)

// phases returns the pipeline for the spec, in order.
func (e *engine) phases() []phase {
	ps := []phase{preflightPhase{}, lockPhase{}, backupPhase{}}
	if e.spec.NewHosts {
		ps = append(ps, preparePhase{})
	}
	after := e.spec.finishAfterVerify()
	ps = append(ps, hookPhase{PhaseBeforeStop, HookBeforeStop},
		windowPhase{install: !e.spec.NewHosts, finish: !after},
		hookPhase{PhaseAfterStart, HookAfterStart}, verifyPhase{})
	if after {
		ps = append(ps, migrateFinishPhase{})
	}
	if e.spec.NewHosts && e.spec.Decommission {
		ps = append(ps, decommissionPhase{})
	}
	return append(ps, cleanupPhase{})
}

// ---- lock ----

// lockPhase takes the fleet lock in the database. A lock held by another
// run is refused; a stale one is reported with how to clear it, never
// taken over. On resume the same run id re-enters its own lock.
type lockPhase struct{}

func (lockPhase) name() PhaseName { return PhaseLock }

func (lockPhase) run(ctx context.Context, e *engine) error {
	l, err := e.fleetLocker(ctx)
	if err != nil {
		return err
	}
	info, err := l.Acquire(ctx, LockRequest{RunID: e.runID, Owner: lockOwner(), TTL: e.spec.Timeouts.FleetLockTTL, Note: fmt.Sprintf("upgrade %s → %s", e.pf.From, e.spec.To)})
	if err != nil {
		if errors.Is(err, ErrLockHeld) {
			f := lockFinding(info, e.clk.Now(), e.spec.InventoryPath)
			e.find(f)
			return fmt.Errorf("%s", f.Message)
		}
		return fmt.Errorf("acquire fleet lock: %w", err)
	}
	e.mu.Lock()
	e.lock = &info
	e.mu.Unlock()
	_ = e.journalStep(PhaseLock, "lock", "", "done", info, nil)
	e.startHeartbeat(l, info)
	return nil
}

func (lockPhase) undo(ctx context.Context, e *engine) error {
	return e.releaseLock(ctx)
}

func (e *engine) releaseLock(ctx context.Context) error {
	e.flushRuns()
	e.stopHeartbeat()
	e.mu.Lock()
	l, info := e.locker, e.lock
	e.mu.Unlock()
	if l == nil || info == nil {
		return nil
	}
	err := e.retryTransient(ctx, e.spec.ToolsHost, "release fleet lock", func(ctx context.Context) error {
		return l.Release(ctx, *info)
	})
	if err != nil {
		return fmt.Errorf("release fleet lock: %w", err)
	}
	e.mu.Lock()
	e.lock = nil
	e.mu.Unlock()
	return nil
}

func lockFinding(info LockInfo, now time.Time, inv string) Finding {
	invArg := "-i " + orDefault(inv, "INVENTORY")
	if info.Stale(now) {
		return Finding{Severity: SevError, Code: "fleet-lock-stale",
			Message: fmt.Sprintf("the fleet lock is held by run %s (%s, taken %s) but its last heartbeat was %s: the run is probably dead; kongctl never takes a lock over",
				info.RunID, info.Owner, info.Acquired.UTC().Format(time.RFC3339), info.Heartbeat.UTC().Format(time.RFC3339)),
			Fix: fmt.Sprintf("if that run is interrupted, continue it with `kongctl upgrade %s --resume` or undo it with `kongctl rollback %s`; if you are sure no run is alive, clear the lock with `kongctl unlock %s --run %s`", invArg, invArg, invArg, info.RunID)}
	}
	return Finding{Severity: SevError, Code: "fleet-lock-held",
		Message: fmt.Sprintf("another kongctl run holds the fleet lock: run %s (%s, since %s, heartbeat %s)",
			info.RunID, info.Owner, info.Acquired.UTC().Format(time.RFC3339), info.Heartbeat.UTC().Format(time.RFC3339)),
		Fix: "wait for it to finish (kongctl status " + invArg + " shows it)"}
}

// ---- backup ----

// backupPhase fingerprints Kong's tables, takes a pg_dump on the tools
// host, verifies it restores, and copies it to the bastion with its
// checksum. The backup is kept (never undone).
type backupPhase struct{}

func (backupPhase) name() PhaseName { return PhaseBackup }

func (backupPhase) run(ctx context.Context, e *engine) error {
	if e.prior.Done("backup") {
		var b BackupInfo
		if e.prior.Data("backup", &b) {
			e.backup = &b
		}
		e.note("backup taken before resume: %s", b.Path)
		return nil
	}
	err := e.step(ctx, PhaseBackup, "backup", e.spec.ToolsHost, func(ctx context.Context) (any, error) {
		b, err := e.takeBackup(ctx, "pre")
		if err != nil {
			return nil, err
		}
		e.backup = &b
		return b, nil
	})
	if err == nil {
		// Only now, with this run's backup verified and on the bastion.
		e.pruneBackups(ctx)
	}
	return err
}

func (e *engine) takeBackup(ctx context.Context, tag string) (BackupInfo, error) {
	db, err := e.database(ctx)
	if err != nil {
		return BackupInfo{}, err
	}
	// Before the dump starts: a write between these counters and the
	// dump's snapshot shows after the stop (a retake for nothing), never
	// the other way round.
	sig, err := e.writeSignatureBeforeDump(ctx, db)
	if err != nil {
		return BackupInfo{}, err
	}
	b, err := db.Backup(ctx, BackupRequest{Dir: e.spec.Backup.Dir, Name: fmt.Sprintf("kong-%s-%s", e.runID, tag)})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("back up database on %s: %w", e.spec.ToolsHost, err)
	}
	if b.Fingerprint.Sum == "" {
		// A dump an earlier attempt of this step left carries none.
		if b.Fingerprint, err = db.Fingerprint(ctx); err != nil {
			return BackupInfo{}, fmt.Errorf("fingerprint database on %s: %w", e.spec.ToolsHost, err)
		}
	}
	b.WriteSignature = sig
	b.Taken = e.clk.Now()
	if err := db.VerifyRestore(ctx, b); err != nil {
		return BackupInfo{}, fmt.Errorf("verify backup %s restores on %s: %w", b.Path, e.spec.ToolsHost, err)
	}
	local := e.spec.Backup.LocalDir
	if local == "" && e.j != nil {
		local = e.j.Dir()
	}
	if len(e.spec.Backup.EncryptTo) > 0 {
		return e.storeEncrypted(ctx, db, b, local) // backupcrypt.go
	}
	if local != "" {
		lp := filepath.Join(local, filepath.Base(b.Path))
		if err := db.Fetch(ctx, b, lp); err != nil {
			return BackupInfo{}, fmt.Errorf("copy backup %s to the bastion: %w", b.Path, err)
		}
		sum, err := filehash.SHA256(lp)
		if err != nil {
			return BackupInfo{}, err
		}
		if sum != b.SHA256 {
			return BackupInfo{}, fmt.Errorf("backup copy %s: sha256 %s, want %s", lp, sum, b.SHA256)
		}
		b.LocalPath = lp
	}
	return b, nil
}

// backupCheckPhase runs after the stop: when Kong's configuration tables
// changed since the backup (writes slipped in before the nodes went down),
// the backup is taken again, so the kept backup holds every accepted admin
// write. The check reads write counters, not rows (writecheck.go).
type backupCheckPhase struct{}

func (backupCheckPhase) name() PhaseName { return PhaseBackupCheck }

func (backupCheckPhase) run(ctx context.Context, e *engine) error {
	if e.prior.Done("backup-check") {
		var b BackupInfo
		if e.prior.Data("backup-check", &b) && b.Path != "" {
			e.backup = &b
		}
		return nil
	}
	return e.step(ctx, PhaseBackupCheck, "backup-check", e.spec.ToolsHost, func(ctx context.Context) (any, error) {
		var changed []string
		if e.backup != nil {
			var err error
			if changed, err = e.writesSinceBackup(ctx); err != nil {
				return nil, err
			}
			if len(changed) == 0 {
				e.note("database configuration unchanged since the backup: the backup holds every accepted write")
				return *e.backup, nil
			}
		}
		e.find(Finding{Severity: SevWarning, Code: "writes-during-freeze", Message: fmt.Sprintf("the database changed between the backup and the stop (tables: %s); taking the backup again", strings.Join(changed, ", "))})
		b, err := e.takeBackup(ctx, "final")
		if err != nil {
			return nil, err
		}
		e.backup = &b
		return b, nil
	})
}

// ---- prepare (new-hosts mode) ----

// preparePhase installs Y on the spare hosts and carries kong.conf from an
// X node, all before the stop.
type preparePhase struct{}

func (preparePhase) name() PhaseName { return PhasePrepare }

func (preparePhase) run(ctx context.Context, e *engine) error {
	src, err := e.node(ctx, e.spec.Nodes[0])
	if err != nil {
		return err
	}
	conf, err := src.ReadConf(ctx)
	if err != nil {
		return fmt.Errorf("read kong.conf on %s: %w", e.spec.Nodes[0], err)
	}
	return e.forEach(ctx, e.spec.Spares, 8, func(ctx context.Context, h string) error {
		return e.step(ctx, PhasePrepare, "prepare/"+h, h, func(ctx context.Context) (any, error) {
			// Installed and checked before the stop: the window is then
			// stop, migrations and start only.
			if err := e.install(ctx, h, e.pf.PkgY[h], e.spec.To); err != nil {
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

// ---- hooks ----

// hookPhase runs the operator's hooks of one point.
type hookPhase struct {
	ph    PhaseName
	point HookPoint
}

func (p hookPhase) name() PhaseName { return p.ph }

func (p hookPhase) run(ctx context.Context, e *engine) error {
	for i, hk := range e.spec.Hooks[p.point] {
		if hk.PerNode {
			continue // around each node's own stop or start (nodeHooks)
		}
		for _, h := range hookHosts(e, hk) {
			if err := e.runHook(ctx, p.ph, p.point, i, hk, h, "", "", nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// nodeHooks runs the per-node hooks of point for node, where each says
// (the bastion, or its hosts), with the node's name and address. tag
// prefixes their journal keys ("rollback/" for the rollback's own runs).
func (e *engine) nodeHooks(ctx context.Context, ph PhaseName, point HookPoint, node, tag string) error {
	for i, hk := range e.spec.Hooks[point] {
		if !hk.PerNode {
			continue
		}
		env := map[string]string{"KONGCTL_NODE": node, "KONGCTL_NODE_ADDRESS": e.spec.host(node).Address}
		for _, h := range hookHosts(e, hk) {
			if err := e.runHook(ctx, ph, point, i, hk, h, node, tag, env); err != nil {
				return err
			}
		}
	}
	return nil
}

func hookHosts(e *engine, hk HookSpec) []string {
	switch {
	case hk.OnBastion:
		return []string{bastionHost}
	case len(hk.Hosts) == 0:
		return []string{e.spec.MigrationHost}
	}
	return hk.Hosts
}

// runHook runs hook i of point on h as a journaled step (for node, when
// it runs per node; tag prefixes its journal key). A failure fails the
// step unless the hook continues on error (a warning then).
func (e *engine) runHook(ctx context.Context, ph PhaseName, point HookPoint, i int, hk HookSpec, h, node, tag string, extra map[string]string) error {
	key := fmt.Sprintf("%shook/%s/%d/%s", tag, point, i, h)
	where := h
	if node != "" {
		key = fmt.Sprintf("%shook/%s/%d/%s/%s", tag, point, i, node, h)
		where = h + " for " + node
	}
	err := e.step(ctx, ph, key, h, func(ctx context.Context) (any, error) {
		env := map[string]string{
			"KONGCTL_RUN_ID": e.runID, "KONGCTL_FROM": e.pf.From, "KONGCTL_TO": e.spec.To, "KONGCTL_HOOK": string(point),
		}
		maps.Copy(env, extra)
		req := ExecRequest{Command: hk.Command, Timeout: hk.Timeout, Env: env}
		var res ExecResult
		var err error
		if h == bastionHost {
			res, err = e.localExec(ctx, req)
		} else {
			var n Node
			if n, err = e.node(ctx, h); err != nil {
				return nil, err
			}
			res, err = n.Exec(ctx, req)
		}
		if err != nil {
			return nil, fmt.Errorf("hook %s on %s: %w", hookName(hk, i), where, err)
		}
		if res.ExitCode != 0 {
			return nil, fmt.Errorf("hook %s on %s: exit %d: %s", hookName(hk, i), where, res.ExitCode, hookFailure(res))
		}
		return e.hookRecord(res), nil
	})
	if err != nil && hk.ContinueOnError {
		e.find(Finding{Severity: SevWarning, Code: "hook", Host: h, Message: e.red.err(err)})
		return nil
	}
	return err
}

func hookName(h HookSpec, i int) string {
	if h.Name != "" {
		return h.Name
	}
	return fmt.Sprintf("#%d", i+1)
}

// ---- stop ----

// stopPhase stops the X nodes (see windowPhase for the order) gracefully
// and verifies each down. Downtime starts with the first stop. Undo:
// start X again on the stopped nodes (after the database restore and the
// reinstall of X that undo later phases) and verify them healthy.
type stopPhase struct{}

func (stopPhase) name() PhaseName { return PhaseStop }

// run stops every node at once. The pipeline does not call it: the window
// (windowPhase) runs the stop node by node, interleaved with its other
// parts; the phase is kept whole for its name, its steps and its undo.
func (stopPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.Nodes, nodeLimit, e.stopNode)
}

// stopNode stops Kong on h as a journaled step, after the per-node
// before_stop hooks for h (draining it from a load balancer).
func (e *engine) stopNode(ctx context.Context, h string) error {
	if err := e.nodeHooks(ctx, PhaseStop, HookBeforeStop, h, ""); err != nil {
		return err
	}
	return e.step(ctx, PhaseStop, "stop/"+h, h, func(ctx context.Context) (any, error) {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil, err
		}
		// Stop returns once the node verified Kong down (process gone,
		// ports closed): no second round trip to ask again.
		if err := n.Stop(ctx, e.spec.Timeouts.Stop); err != nil {
			return nil, fmt.Errorf("stop kong on %s: %w", h, err)
		}
		return nil, nil
	})
}

func (stopPhase) undo(ctx context.Context, e *engine) error {
	var hosts []string
	for _, h := range e.spec.Nodes {
		if e.stepStarted("stop/" + h) {
			hosts = append(hosts, h)
		}
	}
	// X comes back on every node at once (as Y starts), not one after the
	// other: the fleet is down until the first node serves again.
	return e.forEach(ctx, hosts, startLimit, func(ctx context.Context, h string) error {
		if err := e.undecommission(ctx, h); err != nil {
			return err
		}
		if err := e.undoStep(ctx, PhaseStop, "rollback/start-x/"+h, h, func(ctx context.Context) error {
			return e.startAndWait(ctx, h, e.pf.From)
		}); err != nil {
			return err
		}
		if err := e.restoreKeyring(ctx, PhaseStop, h, true); err != nil {
			return err
		}
		// X serves again on h: the per-node after_start hooks (enabling
		// it in a load balancer); a failure there is a warning only, the
		// rollback goes on.
		if err := e.nodeHooks(ctx, PhaseStop, HookAfterStart, h, "rollback/"); err != nil {
			e.find(Finding{Severity: SevWarning, Code: "hook", Host: h, Message: e.red.err(err)})
		}
		return nil
	})
}

// undoStep journals a rollback step so an interrupted rollback resumes.
// A step that fails because its connection to the host was lost, or the
// host could not reach the database, is tried again for a while
// (retryTransient): rollback steps are safe to run twice.
func (e *engine) undoStep(ctx context.Context, ph PhaseName, key, host string, fn func(ctx context.Context) error) error {
	if e.j != nil && e.j.State().Done(key) {
		return nil
	}
	return e.step(ctx, ph, key, host, func(ctx context.Context) (any, error) {
		return nil, e.retryTransient(ctx, host, key, fn)
	})
}

// ---- install ----

// installPhase installs Y on every node (the migration node first, the
// others beside its migrations: windowPhase); the agent checks the
// installed version. Undo: reinstall X from the package kept on the node.
type installPhase struct{}

func (installPhase) name() PhaseName { return PhaseInstall }

// run installs Y everywhere at once; like stopPhase.run, the pipeline
// runs the install inside the window instead.
func (installPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.Nodes, nodeLimit, e.installY)
}

// installY installs Y on h as a journaled step. Every node but the
// migration node installs off the critical path, at a lower CPU priority.
func (e *engine) installY(ctx context.Context, h string) error {
	return e.step(ctx, PhaseInstall, "install/"+h, h, func(ctx context.Context) (any, error) {
		ref := e.pf.PkgY[h]
		ref.Background = h != e.spec.MigrationHost
		return nil, e.install(ctx, h, ref, e.spec.To)
	})
}

func (installPhase) undo(ctx context.Context, e *engine) error {
	var hosts []string
	for _, h := range e.spec.Nodes {
		if e.stepStarted("install/" + h) {
			hosts = append(hosts, h)
		}
	}
	return e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		return e.undoStep(ctx, PhaseInstall, "rollback/install-x/"+h, h, func(ctx context.Context) error {
			return e.install(ctx, h, e.pf.PkgX[h], e.pf.From)
		})
	})
}

func (e *engine) install(ctx context.Context, h string, ref PackageRef, want string) error {
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

// ---- migrations ----

// migrateUpPhase runs `kong migrations up` on exactly one node (Y
// installed, whole fleet down), detached under a step id so a dropped SSH
// connection or a controller restart attaches rather than re-runs. The
// result is checked, never trusted: "aborted" is retried once after Kong's
// lock TTL, and `list` must then exit 4 (teardowns pending) or 0.
// Undo: restore the database from the kept backup.
type migrateUpPhase struct{}

func (migrateUpPhase) name() PhaseName { return PhaseMigrateUp }

func (migrateUpPhase) run(ctx context.Context, e *engine) error {
	h := e.spec.MigrationHost
	return e.step(ctx, PhaseMigrateUp, "migrate/up", h, func(ctx context.Context) (any, error) {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil, err
		}
		if e.prior.Status("migrate/up") == "" {
			// A first attempt: preflight found the database current for X
			// (nothing pending) and the fleet lock kept it so; up runs
			// straight away (Kong's up is itself a no-op on a current
			// database), its result checked by the list after it.
			return e.upAndCheck(ctx, n)
		}
		st, err := e.migList(ctx, n)
		if err != nil {
			return nil, err
		}
		if st.ExitCode == 4 || st.ExitCode == 0 {
			// Up already applied (a resumed run) or nothing new: re-checked
			// state, not re-run.
			e.lastList = &st
			return st, nil
		}
		if st.ExitCode != 5 {
			return nil, fmt.Errorf("kong migrations list on %s before up: exit %d: %s", h, st.ExitCode, firstLine(st.Output))
		}
		return e.upAndCheck(ctx, n)
	})
}

// upAndCheck runs `kong migrations up` on the migration node and checks
// the list after it: 4 (teardowns pending) or 0.
func (e *engine) upAndCheck(ctx context.Context, n Node) (SchemaState, error) {
	st, err := e.migrateAndList(ctx, n, "up")
	if err != nil {
		return st, err
	}
	if st.ExitCode != 4 && st.ExitCode != 0 {
		return st, fmt.Errorf("kong migrations up on %s: afterwards list exits %d (want 4 with teardowns pending, or 0): %s", e.spec.MigrationHost, st.ExitCode, firstLine(st.Output))
	}
	e.lastList = &st
	return st, nil
}

func (migrateUpPhase) undo(ctx context.Context, e *engine) error { return e.restoreDB(ctx) }

// migrateFinishPhase runs `kong migrations finish`: the POINT OF NO
// RETURN, journaled as such before it starts. Afterwards `list` must exit
// 0. Undo: restore the database (X cannot run on a finished database).
type migrateFinishPhase struct{}

func (migrateFinishPhase) name() PhaseName { return PhaseMigrateFinish }

func (migrateFinishPhase) run(ctx context.Context, e *engine) error {
	h := e.spec.MigrationHost
	if !e.prior.Done("migrate/finish") {
		e.emit(progress.Event{Type: progress.Message, Phase: string(PhaseMigrateFinish), Message: "POINT OF NO RETURN: kong migrations finish; from here, rolling back means restoring the database backup"})
		if err := e.journalStep(PhaseMigrateFinish, "point-of-no-return", h, "done", map[string]bool{"point_of_no_return": true}, nil); err != nil {
			return err
		}
	}
	e.pnr = true
	return e.step(ctx, PhaseMigrateFinish, "migrate/finish", h, func(ctx context.Context) (any, error) {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil, err
		}
		// The list migrate-up just ran (this process, nothing in between)
		// is the state before finish; a resumed run lists again.
		var st SchemaState
		if e.lastList != nil {
			st, e.lastList = *e.lastList, nil
		} else if st, err = e.migList(ctx, n); err != nil {
			return nil, err
		}
		if st.ExitCode == 0 {
			return st, nil // nothing pending (no teardowns, or finished before a resume)
		}
		if st.ExitCode != 4 {
			return nil, fmt.Errorf("kong migrations list on %s before finish: exit %d (want 4): %s", h, st.ExitCode, firstLine(st.Output))
		}
		if st, err = e.migrateAndList(ctx, n, "finish"); err != nil {
			return nil, err
		}
		if st.ExitCode != 0 {
			return nil, fmt.Errorf("kong migrations finish on %s: afterwards list exits %d (want 0): %s", h, st.ExitCode, firstLine(st.Output))
		}
		return st, nil
	})
}

func (migrateFinishPhase) undo(ctx context.Context, e *engine) error {
	if e.spec.finishAfterVerify() {
		// Finish ran after Y started: Y stops before the database is
		// restored under it (start's own undo then finds it done).
		if err := (startPhase{}).undo(ctx, e); err != nil {
			return err
		}
	}
	return e.restoreDB(ctx)
}

func (e *engine) migList(ctx context.Context, n Node) (SchemaState, error) {
	st, err := n.Migrations(ctx, MigrationsRequest{Command: "list", DBTimeout: e.spec.Timeouts.Migrations})
	if err != nil {
		return st, fmt.Errorf("kong migrations list on %s: %w", e.spec.MigrationHost, err)
	}
	return st, nil
}

// migrateAndList runs up or finish (migrate) and returns the state after
// it: the list the node ran right after the command when it reports one,
// else a list of its own.
func (e *engine) migrateAndList(ctx context.Context, n Node, cmd string) (SchemaState, error) {
	st, err := e.migrate(ctx, n, cmd)
	if err != nil {
		return st, err
	}
	if st.After != nil {
		return *st.After, nil
	}
	return e.migList(ctx, n)
}

// migrate runs up or finish detached, retrying once after Kong's lock TTL
// when Kong answered "aborted: another node is performing database changes".
func (e *engine) migrate(ctx context.Context, n Node, cmd string) (SchemaState, error) {
	h := e.spec.MigrationHost
	for attempt := 1; ; attempt++ {
		dbTimeout, lockTimeout := e.migrationTimeouts()
		req := MigrationsRequest{Command: cmd, StepID: e.migrationStepID(cmd, attempt),
			DBTimeout: dbTimeout, LockTimeout: lockTimeout, StepTimeout: e.spec.Timeouts.Migrations}
		st, err := n.Migrations(ctx, req)
		if err != nil {
			return st, fmt.Errorf("kong migrations %s on %s: %w", cmd, h, err)
		}
		if st.ExitCode != 0 {
			return st, fmt.Errorf("kong migrations %s on %s: exit %d: %s", cmd, h, st.ExitCode, firstLine(st.Output))
		}
		if !st.Aborted {
			return st, nil
		}
		if attempt >= 2 {
			return st, fmt.Errorf("kong migrations %s on %s: aborted twice: another node holds Kong's migrations lock", cmd, h)
		}
		e.note("kong migrations %s on %s aborted (Kong's migrations lock is held); retrying after the lock TTL %s", cmd, h, e.spec.Timeouts.MigrationLockTTL)
		if err := e.clk.Sleep(ctx, e.spec.Timeouts.MigrationLockTTL+time.Second); err != nil {
			return st, err
		}
	}
}

// restoreDB puts the kept backup back when migrations touched the
// database, and checks the fingerprint equals the pre-upgrade one. Once
// per rollback.
func (e *engine) restoreDB(ctx context.Context) error {
	if e.dbRestore {
		return nil
	}
	upStarted := e.stepStarted("migrate/up")
	finishStarted := e.stepStarted("migrate/finish") || e.stepStarted("point-of-no-return")
	if !upStarted && !finishStarted {
		return nil
	}
	if !e.prior.Done("rollback/restore-db") && !(e.j != nil && e.j.State().Done("rollback/restore-db")) {
		if err := e.settleMigrations(ctx); err != nil {
			return err
		}
	}
	if !finishStarted && !e.spec.RestoreDB {
		e.note("migrations up ran but finish did not: X can use the database as it is (restore skipped as configured)")
		e.dbRestore = true
		return nil
	}
	if e.backup == nil {
		return errors.New("restore database: no backup recorded in the journal")
	}
	err := e.undoStep(ctx, PhaseMigrateUp, "rollback/restore-db", e.spec.ToolsHost, func(ctx context.Context) error {
		db, err := e.database(ctx)
		if err != nil {
			return err
		}
		done, err := e.stageEncryptedRestore(ctx, db) // backupcrypt.go
		if err != nil {
			return err
		}
		defer done()
		if err := db.Restore(ctx, *e.backup); err != nil {
			return fmt.Errorf("restore database from %s on %s: %w", e.backup.Path, e.spec.ToolsHost, err)
		}
		fp, err := db.Fingerprint(ctx)
		if err != nil {
			return fmt.Errorf("fingerprint database after restore: %w", err)
		}
		if !fp.Equal(e.backup.Fingerprint) {
			return fmt.Errorf("database after restore differs from the pre-upgrade fingerprint (tables: %s)", strings.Join(e.backup.Fingerprint.ChangedTables(fp), ", "))
		}
		return nil
	})
	if err == nil {
		e.dbRestore = true
	}
	return err
}

// migrationStepID names the detached step of one attempt of `kong
// migrations <cmd>` in this run.
func (e *engine) migrationStepID(cmd string, attempt int) string {
	return fmt.Sprintf("%s-migrations-%s-%d", e.runID, cmd, attempt)
}

// settleMigrations makes sure no `kong migrations up` or `finish` is still
// running when the database is about to be restored (or X put back on
// it): the detached steps this run may have started on the migration
// host outlive a lost connection or a killed controller. A running one is
// waited for, up to the migrations timeout (the bound the agent puts on
// the step itself) plus a minute; then Kong's own migrations lock must be
// free. Each wait is reported. Past the bound the rollback stops here,
// the database untouched, and `kongctl rollback` continues it later.
func (e *engine) settleMigrations(ctx context.Context) error {
	h := e.spec.MigrationHost
	// Every read below rides out a lost connection or a database blip
	// (retryTransient), as the rollback steps do.
	var n Node
	err := e.retryTransient(ctx, h, "connect to the migration host", func(ctx context.Context) (err error) {
		n, err = e.node(ctx, h)
		return err
	})
	if err != nil {
		return fmt.Errorf("check for a running migrations step on %s before the restore: %w", h, err)
	}
	bound := e.spec.Timeouts.Migrations + time.Minute
	deadline := e.clk.Now().Add(bound)
	tooLong := func(what string) error {
		err := fmt.Errorf("%s still running on %s after waiting %s: the database is not restored under it; once it ended, `kongctl rollback -i %s` continues the rollback", what, h, bound, orDefault(e.spec.InventoryPath, "INVENTORY"))
		e.find(Finding{Severity: SevError, Code: "migrations-running", Host: h, Message: err.Error()})
		return err
	}
	for _, cmd := range []string{"up", "finish"} {
		for attempt := 1; attempt <= 2; attempt++ {
			id := e.migrationStepID(cmd, attempt)
			var waitedFrom time.Time
			for {
				var st string
				err := e.retryTransient(ctx, h, "check migrations step "+id, func(ctx context.Context) (err error) {
					st, err = n.MigrationStep(ctx, id, 10*time.Second)
					return err
				})
				if err != nil {
					return fmt.Errorf("check migrations step %s on %s before the restore: %w", id, h, err)
				}
				if st != StepRunning {
					if !waitedFrom.IsZero() {
						e.find(Finding{Severity: SevWarning, Code: "migrations-waited", Host: h,
							Message: fmt.Sprintf("kong migrations %s (step %s) ended (%s) after %s; the database is restored only now", cmd, id, st, e.clk.Now().Sub(waitedFrom).Round(time.Second))})
					}
					break
				}
				if waitedFrom.IsZero() {
					waitedFrom = e.clk.Now()
					e.find(Finding{Severity: SevWarning, Code: "migrations-running", Host: h,
						Message: fmt.Sprintf("kong migrations %s (step %s) is still running on %s: waiting for it to end before restoring the database (at most %s)", cmd, id, h, bound)})
				}
				if !e.clk.Now().Before(deadline) {
					return tooLong(fmt.Sprintf("kong migrations %s (step %s)", cmd, id))
				}
			}
		}
	}
	var waitedFrom time.Time
	for {
		var ml MigrationLock
		err := e.retryDatabase(ctx, "read Kong's migrations lock", func(ctx context.Context, db Database) (err error) {
			ml, err = db.MigrationLock(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("read Kong's migrations lock before the restore: %w", err)
		}
		if !ml.Held {
			if !waitedFrom.IsZero() {
				e.note("Kong's migrations lock is free after %s", e.clk.Now().Sub(waitedFrom).Round(time.Second))
			}
			return nil
		}
		if waitedFrom.IsZero() {
			waitedFrom = e.clk.Now()
			e.find(Finding{Severity: SevWarning, Code: "migrations-lock", Message: fmt.Sprintf("Kong's migrations lock is held (owner %s, until %s): waiting for it before restoring the database", dash(ml.Owner), ml.Expires.UTC().Format(time.RFC3339))})
		}
		if !e.clk.Now().Before(deadline) {
			return tooLong("a process holding Kong's migrations lock")
		}
		if err := e.clk.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// ---- start ----

// startPhase starts Y on every target (the migration node first, then the
// others: windowPhase) and waits until each is healthy on Y (running,
// /status 200, ready, database reachable). The fleet serves again with the
// first; the window ends with the last. Undo: stop Y again.
type startPhase struct{}

func (startPhase) name() PhaseName { return PhaseStart }

// run starts Y everywhere at once; like stopPhase.run, the pipeline runs
// the start inside the window instead.
func (startPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.targets(), startLimit, e.startY)
}

// startY starts Y on h as a journaled step and waits until it is healthy
// on Y; the step's data holds the time it was.
func (e *engine) startY(ctx context.Context, h string) error {
	err := e.step(ctx, PhaseStart, "start/"+h, h, func(ctx context.Context) (any, error) {
		if err := e.startAndWait(ctx, h, e.spec.To); err != nil {
			return nil, err
		}
		return map[string]time.Time{"healthy": e.clk.Now()}, nil
	})
	if err != nil {
		return err
	}
	if err := e.restoreKeyring(ctx, PhaseStart, h, false); err != nil {
		return err
	}
	// The node serves Y: the per-node after_start hooks (enabling it in
	// a load balancer).
	return e.nodeHooks(ctx, PhaseStart, HookAfterStart, h, "")
}

// startAndWait starts Kong on h and returns once it is healthy on want.
// The agent's start already waits for health: when what it saw answers,
// no second round trip asks again.
func (e *engine) startAndWait(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	hl, err := n.Start(ctx, e.spec.Timeouts.Start)
	if err != nil {
		return fmt.Errorf("start kong %s on %s: %w", want, h, err)
	}
	if hl.Healthy() && sameVersion(hl.Version, want) {
		return nil
	}
	return e.waitHealthy(ctx, h, want)
}

func (startPhase) undo(ctx context.Context, e *engine) error {
	var hosts []string
	for _, h := range e.spec.targets() {
		if e.stepStarted("start/" + h) {
			hosts = append(hosts, h)
		}
	}
	return e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		return e.undoStep(ctx, PhaseStart, "rollback/stop-y/"+h, h, func(ctx context.Context) error {
			n, err := e.node(ctx, h)
			if err != nil {
				return err
			}
			if err := n.Stop(ctx, e.spec.Timeouts.Stop); err != nil {
				return fmt.Errorf("stop kong %s on %s: %w", e.spec.To, h, err)
			}
			return nil
		})
	})
}

// waitHealthy polls Health until the node runs version want and is
// healthy, or the health timeout passes.
func (e *engine) waitHealthy(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	deadline := e.clk.Now().Add(e.spec.Timeouts.Health)
	var last Health
	var lastErr error
	for {
		last, lastErr = n.Health(ctx)
		if lastErr == nil && last.Healthy() && (want == "" || sameVersion(last.Version, want)) {
			return nil
		}
		if !e.clk.Now().Before(deadline) {
			break
		}
		// Every poll is a round trip to the node; the first seconds after
		// a start are where the downtime ends, so poll those closely.
		if err := e.clk.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	if lastErr != nil {
		return fmt.Errorf("wait for kong %s healthy on %s: %w", want, h, lastErr)
	}
	return fmt.Errorf("wait for kong %s healthy on %s: not healthy after %s (running=%v version=%s status=%v ready=%v db=%v %s)",
		want, h, e.spec.Timeouts.Health, last.Running, dash(last.Version), last.StatusOK, last.Ready, last.DBReachable, last.Detail)
}

// ---- verify ----

// verifyPhase checks every Y node: version, /status and readiness, smoke
// requests through each proxy, then keeps checking over the soak window
// and judges the metric gates (max_error_rate, max_5xx, max_latency_p99,
// min_requests) on the window's counters against the pre-upgrade
// baseline. A failed gate fails the phase (rollback or pause), named in
// the report with its threshold and measured value.
type verifyPhase struct{}

func (verifyPhase) name() PhaseName { return PhaseVerify }

func (verifyPhase) run(ctx context.Context, e *engine) error {
	targets := e.spec.targets()
	type sample struct {
		m     Metrics
		at    time.Time
		smoke int // smoke requests sent through the node since the sample
	}
	var smu sync.Mutex
	start := map[string]*sample{}
	check := func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return err
		}
		hl, err := n.Health(ctx)
		if err != nil {
			return fmt.Errorf("health of %s: %w", h, err)
		}
		if !hl.Healthy() || !sameVersion(hl.Version, e.spec.To) {
			return fmt.Errorf("verify %s: not healthy on %s (running=%v version=%s status=%v ready=%v db=%v)", h, e.spec.To, hl.Running, dash(hl.Version), hl.StatusOK, hl.Ready, hl.DBReachable)
		}
		// A hybrid control plane proxies nothing: its data planes serve
		// the traffic, so smoke requests go through traditional nodes only.
		smoke := e.spec.Verify.Smoke
		if e.spec.host(h).Has("control_plane") {
			smoke = nil
		}
		for _, s := range smoke {
			smu.Lock()
			if st := start[h]; st != nil {
				st.smoke++
			}
			smu.Unlock()
			res, err := n.Probe(ctx, ProbeRequest{Path: s.Path, Host: s.Host, WantStatus: s.Status, Timeout: 10 * time.Second})
			if err != nil {
				return fmt.Errorf("smoke request %s through %s: %w", s.label(), h, err)
			}
			want := s.Status
			if want == 0 {
				want = 200
			}
			if res.Status != want {
				return fmt.Errorf("smoke request %s through %s: status %d, want %d", s.label(), h, res.Status, want)
			}
		}
		return nil
	}
	err := e.forEach(ctx, targets, nodeLimit, func(ctx context.Context, h string) error {
		if err := check(ctx, h); err != nil {
			e.hostResult(PhaseVerify, h, "failed", 0, "", err)
			return err
		}
		n, _ := e.node(ctx, h)
		if m, err := n.Metrics(ctx); err == nil {
			smu.Lock()
			start[h] = &sample{m: m, at: e.clk.Now()}
			smu.Unlock()
		}
		e.hostResult(PhaseVerify, h, "ok", 0, "healthy on "+e.spec.To+", smoke ok", nil)
		return nil
	})
	if err != nil {
		return err
	}
	// Soak: keep checking, then judge the gates on the window.
	deadline := e.clk.Now().Add(e.spec.Verify.Soak)
	for e.clk.Now().Before(deadline) {
		if err := e.clk.Sleep(ctx, e.spec.Verify.Interval); err != nil {
			return err
		}
		if err := e.forEach(ctx, targets, nodeLimit, check); err != nil {
			return fmt.Errorf("during the soak window: %w", err)
		}
	}
	v := e.spec.Verify
	if !v.hasGates() {
		return nil
	}
	win := map[string]gateWindow{}
	readErr := e.forEach(ctx, targets, nodeLimit, func(ctx context.Context, h string) error {
		st, ok := start[h]
		if !ok {
			return fmt.Errorf("read metrics of %s: no sample at the start of the soak window", h)
		}
		n, err := e.node(ctx, h)
		if err != nil {
			return fmt.Errorf("read metrics of %s: %w", h, err)
		}
		m1, err := n.Metrics(ctx)
		if err != nil {
			return fmt.Errorf("read metrics of %s: %w", h, err)
		}
		smu.Lock()
		win[h] = gateWindow{M0: st.m, M1: m1, Seconds: e.clk.Now().Sub(st.at).Seconds(), Smoke: st.smoke}
		smu.Unlock()
		return nil
	})
	gates := evaluateGates(v, targets, win, e.pf.Baseline)
	e.mu.Lock()
	e.gates = gates
	e.mu.Unlock()
	for _, g := range gates {
		e.emit(progress.Event{Type: progress.Message, Phase: string(PhaseVerify), Host: g.Host, Status: map[bool]string{true: "ok", false: "failed"}[g.Passed], Message: g.String()})
	}
	return errors.Join(readErr, gateErrors(gates))
}

// ---- cleanup ----

// cleanupPhase releases the fleet lock and records the run; X packages
// stay staged on the nodes, X hosts (new-hosts mode) stay stopped with X
// installed.
type cleanupPhase struct{}

func (cleanupPhase) name() PhaseName { return PhaseCleanup }

func (cleanupPhase) run(ctx context.Context, e *engine) error {
	if e.spec.NewHosts && !e.spec.Decommission {
		e.find(Finding{Severity: SevInfo, Code: "old-hosts", Message: fmt.Sprintf("X hosts %s are stopped with %s installed, kept for rollback", strings.Join(e.spec.Nodes, ", "), e.pf.From),
			Fix: "decommission them when the new hosts have proven themselves (upgrade.decommission = true, or kongctl upgrade --decommission)"})
	}
	e.recordRun(ctx, string(PhaseCleanup), "succeeded")
	return e.releaseLock(ctx)
}

// bastionHost names the machine kongctl runs on in hooks and results.
const bastionHost = "bastion"

// localExec runs a hook on the bastion (see runLocalHook).
func (e *engine) localExec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	if e.exec != nil {
		return e.exec(ctx, req)
	}
	return runLocalHook(ctx, req, os.LookupEnv)
}
