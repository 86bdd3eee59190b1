package kongsim

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const abortedMsg = "aborted: another node is performing database changes"

func (a *app) migrationsUsage() string {
	subs := "bootstrap, up, finish, list, reset"
	status := ""
	if a.rel.AtLeast(3, 0) {
		subs = "bootstrap, up, finish, list, reset, status"
		status = "\n  status                            Dump the database migration status in JSON format\n"
	}
	_ = subs
	return `Usage: kong migrations COMMAND [OPTIONS]

Manage database schema migrations.

The available commands are:
  bootstrap                         Bootstrap the database and run all
                                    migrations.

  up                                Run any new migrations.

  finish                            Finish running any pending migrations after
                                    'up'.

  list                              List executed migrations.

  reset                             Reset the database.
` + status + `
Options:
 -y,--yes                           Assume "yes" to prompts and run
                                    non-interactively.

 -q,--quiet                         Suppress all output.

 -f,--force                         Run migrations even if database reports
                                    as already executed.

 --db-timeout     ` + a.dbTimeoutDefault() + `Timeout, in seconds, for all database
                                    operations.

 --lock-timeout   (default 60)      Timeout, in seconds, for nodes waiting on
                                    the leader node to finish running
                                    migrations.

 -c,--conf        (optional string) Configuration file.

 -p,--prefix      (optional string) Override prefix directory.

 --v              verbose
 --vv             debug
`
}

// dbTimeoutDefault is the usage text's default of --db-timeout: 60
// through 3.6, none from 3.7 (kong-reference 1.1).
func (a *app) dbTimeoutDefault() string {
	if a.rel.AtLeast(3, 7) {
		return "(optional number) "
	}
	return "(default 60)      "
}

type migOpts struct {
	force       bool
	yes         bool
	lockTimeout time.Duration
	faults      Faults
	owner       string
}

func (a *app) cmdMigrations(ctx context.Context, args []string) error {
	p, err := a.parseArgs(a.migrationsUsage(), args,
		flagSpec{long: "yes", short: "y"}, flagSpec{long: "quiet", short: "q"}, flagSpec{long: "force", short: "f"},
		fDBTime, fLockTime, fConf, fPrefix)
	if err != nil {
		return err
	}
	if len(p.pos) == 0 {
		fmt.Fprint(a.stdio.Stderr, a.migrationsUsage())
		return &exitErr{code: 1}
	}
	sub := p.pos[0]
	known := []string{"bootstrap", "up", "finish", "list", "reset"}
	if a.rel.AtLeast(3, 0) {
		known = append(known, "status")
	}
	if !contains(known, sub) {
		fmt.Fprintf(a.stdio.Stderr, "No such command for migrations: %s\n", sub)
		return &exitErr{code: 1}
	}
	a.quiet = p.has("quiet")
	c, err := a.loadConfig(p)
	if err != nil {
		return err
	}
	if err := preparePrefix(c); err != nil {
		return err
	}
	o := migOpts{force: p.has("force"), yes: p.has("yes"), lockTimeout: 60 * time.Second, faults: loadFaults(c.Prefix(), a.env), owner: randomID()}
	if v := p.get("lock-timeout"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return fail("lock-timeout must be a positive number")
		}
		o.lockTimeout = time.Duration(f * float64(time.Second))
	}
	if sub == "reset" && !p.has("yes") && !a.isTTY() {
		return fail("not a tty: invoke 'reset' non-interactively with the --yes flag")
	}
	qt, err := a.migrationQueryTimeout(p, c)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return fail("%s", err)
	}
	defer db.close()
	db.queryTimeout = qt
	cat := a.rel.Catalogue(c.Get("plugins"))
	st, err := db.state(ctx, cat)
	if err != nil {
		return fail("%s", err)
	}
	switch sub {
	case "list":
		res := FormatList(st, c.Get("database"), a.rel.MetaVersion())
		if res.Stderr != "" {
			// The warn line comes after the sections and before the "Run" hint.
			i := strings.LastIndex(res.Stdout, "\nRun 'kong migrations finish' when ready to complete")
			fmt.Fprint(a.stdio.Stdout, res.Stdout[:i])
			a.logAt("warn", "%s", res.Stderr)
			fmt.Fprint(a.stdio.Stdout, res.Stdout[i:])
		} else if !a.quiet {
			fmt.Fprint(a.stdio.Stdout, res.Stdout)
		}
		return &exitErr{code: res.Code}
	case "status":
		js, err := StatusJSON(st)
		if err != nil {
			return fail("%s", err)
		}
		a.log("%s", js)
		return nil
	case "bootstrap":
		return a.bootstrap(ctx, db, c, cat, st, o)
	case "up":
		return a.up(ctx, db, cat, st, o)
	case "finish":
		return a.finishMigrations(ctx, db, cat, st, o)
	case "reset":
		return a.reset(ctx, db, st, o)
	}
	return nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// runMode selects what runMigrations does to each migration.
type runMode struct {
	up           bool
	teardown     bool
	skipTeardown map[string]bool // subsystem/name still pending (up -f)
}

type runCounter struct{ done int }

// runMigrations is DB:run_migrations: per subsystem a "migrating" line, per
// migration a "migrated up to" line after its commit, then the counts.
func (a *app) runMigrations(ctx context.Context, db *kdb, secs []Section, mode runMode, o migOpts, ctr *runCounter) error {
	n, nExec, nPend := 0, 0, 0
	for _, s := range secs {
		a.log("migrating %s on database '%s'...", s.Subsystem, db.name)
		for _, mig := range s.Migrations {
			if o.faults.CrashAfter >= 0 && ctr.done >= o.faults.CrashAfter {
				return crashError{}
			}
			if o.faults.Slow > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(o.faults.Slow):
				}
			}
			var sql []string
			record := recExecuted
			if mode.up {
				if o.faults.MigrationFail == mig.Name {
					return fmt.Errorf("/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:%d: [PostgreSQL error] failed to run migration '%s' up: ERROR: injected failure (FAKE_KONG_MIGRATION_FAIL)%s", 114, mig.Name, traceback)
				}
				sql = append(sql, mig.Up)
				if mig.HasTeardown {
					record = recPending
				}
			}
			if mig.HasTeardown && mode.teardown && !mode.skipTeardown[s.Subsystem+"/"+mig.Name] {
				if o.faults.MigrationFail == mig.Name+":teardown" || (!mode.up && o.faults.MigrationFail == mig.Name) {
					return fmt.Errorf("/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:%d: [PostgreSQL error] failed to run migration '%s' teardown: ERROR: injected failure (FAKE_KONG_MIGRATION_FAIL)%s", 160, mig.Name, traceback)
				}
				sql = append(sql, mig.Teardown)
				record = recTeardown
			}
			if !mode.up && !mig.HasTeardown {
				record = recExecuted
			}
			if err := db.runStep(ctx, s.Subsystem, mig.Name, strings.Join(nonEmpty(sql), ";\n"), record); err != nil {
				phase := "up"
				if !mode.up {
					phase = "teardown"
				}
				return fmt.Errorf("/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:114: [PostgreSQL error] failed to run migration '%s' %s: %s%s", mig.Name, phase, pgErrText(err), traceback)
			}
			ctr.done++
			n++
			state := "executed"
			if record == recPending {
				state = "pending"
				nPend++
			} else {
				nExec++
			}
			a.log("%s migrated up to: %s (%s)", s.Subsystem, mig.Name, state)
		}
	}
	plural := ""
	if n > 1 {
		plural = "s"
	}
	a.log("%d migration%s processed", n, plural)
	if nExec > 0 {
		a.log("%d executed", nExec)
	}
	if nPend > 0 {
		a.log("%d pending", nPend)
	}
	if o.faults.CrashAfter >= 0 && ctr.done >= o.faults.CrashAfter {
		return crashError{}
	}
	return nil
}

const traceback = "\nstack traceback:\n\t[C]: in function 'assert'\n\t/usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:114: in function </usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:98>\n\t[C]: in function 'xpcall'\n\t/usr/local/share/lua/5.1/kong/db/init.lua:404: in function 'cluster_mutex'"

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *app) mutexResult(acquired bool, err error, abortCode int) error {
	var ce crashError
	if errors.As(err, &ce) {
		return err
	}
	if err != nil {
		return fail("%s", err)
	}
	if !acquired {
		a.log("%s", abortedMsg)
		if abortCode != 0 {
			return &exitErr{code: abortCode}
		}
	}
	return nil
}

func (a *app) bootstrap(ctx context.Context, db *kdb, c *Config, cat []Subsystem, st State, o migOpts) error {
	if !st.NeedsBootstrap {
		if !o.force {
			a.log("Database already bootstrapped")
			return nil
		}
		if err := a.reset(ctx, db, st, o); err != nil {
			return err
		}
	}
	a.log("Bootstrapping database...")
	if err := db.bootstrapTables(ctx); err != nil {
		return fail("%s", err)
	}
	ctr := &runCounter{}
	ok, err := db.clusterMutex(ctx, o.owner, o.lockTimeout, true, func() error {
		st, err := db.state(ctx, cat)
		if err != nil {
			return err
		}
		if len(st.Executed) > 0 {
			a.log("Database already bootstrapped")
			return nil
		}
		if err := a.runMigrations(ctx, db, st.New, runMode{up: true, teardown: true}, o, ctr); err != nil {
			return err
		}
		// EE's enterprise/000_base reads KONG_PASSWORD (kong-reference 9.1).
		if pw := lookupEnv(a.env, "KONG_PASSWORD"); a.rel.EE() && pw != "" {
			if err := seedSuperAdmin(ctx, db.conn, pw); err != nil {
				return err
			}
		}
		a.log("Database is up-to-date")
		return nil
	})
	return a.mutexResult(ok, err, 0)
}

func (a *app) up(ctx context.Context, db *kdb, cat []Subsystem, st State, o migOpts) error {
	if st.NeedsBootstrap {
		return fail("Cannot run migrations: %s", NeedsBootstrapMsg)
	}
	if len(st.Pending) > 0 && !o.force {
		return fail("Database has pending migrations; run 'kong migrations finish'")
	}
	ctr := &runCounter{}
	ok, err := db.clusterMutex(ctx, o.owner, o.lockTimeout, false, func() error {
		return a.upLocked(ctx, db, cat, o, ctr)
	})
	return a.mutexResult(ok, err, 0)
}

func (a *app) upLocked(ctx context.Context, db *kdb, cat []Subsystem, o migOpts, ctr *runCounter) error {
	st, err := db.state(ctx, cat)
	if err != nil {
		return err
	}
	ran := false
	if o.force && len(st.Executed) > 0 {
		skip := map[string]bool{}
		for _, s := range st.Pending {
			for _, m := range s.Migrations {
				skip[s.Subsystem+"/"+m.Name] = true
			}
		}
		if err := a.runMigrations(ctx, db, st.Executed, runMode{up: true, teardown: true, skipTeardown: skip}, o, ctr); err != nil {
			return err
		}
		ran = true
		if st, err = db.state(ctx, cat); err != nil {
			return err
		}
	}
	if len(st.New) == 0 {
		if !o.force {
			a.log("Database is already up-to-date")
		}
	} else {
		if err := a.runMigrations(ctx, db, st.New, runMode{up: true}, o, ctr); err != nil {
			return err
		}
		ran = true
		if st, err = db.state(ctx, cat); err != nil {
			return err
		}
	}
	if ran && len(st.Pending) > 0 {
		a.log("\nDatabase has pending migrations; run 'kong migrations finish' when ready")
	}
	return nil
}

func (a *app) finishMigrations(ctx context.Context, db *kdb, cat []Subsystem, st State, o migOpts) error {
	if st.NeedsBootstrap {
		return fail("Cannot run migrations: %s", NeedsBootstrapMsg)
	}
	ctr := &runCounter{}
	ok, err := db.clusterMutex(ctx, o.owner, o.lockTimeout, true, func() error {
		st, err := db.state(ctx, cat)
		if err != nil {
			return err
		}
		if o.force && len(st.Executed) > 0 {
			if err := a.runMigrations(ctx, db, st.Executed, runMode{up: true, teardown: true}, o, ctr); err != nil {
				return err
			}
		}
		if len(st.Pending) > 0 {
			if err := a.runMigrations(ctx, db, st.Pending, runMode{teardown: true}, o, ctr); err != nil {
				return err
			}
		}
		if len(st.New) > 0 {
			a.log("\nNew migrations available; run 'kong migrations up' to proceed")
		} else if len(st.Pending) == 0 {
			a.log("No pending migrations to finish")
		}
		return nil
	})
	return a.mutexResult(ok, err, 0)
}

func (a *app) reset(ctx context.Context, db *kdb, st State, o migOpts) error {
	// --yes was checked by the caller; bootstrap --force resets without asking.
	if st.NeedsBootstrap {
		a.log("Database not bootstrapped, nothing to reset")
		return &exitErr{code: 1}
	}
	if a.isTTY() && !o.force && !o.yes {
		if ok, err := a.confirm(); err != nil || !ok {
			if err != nil {
				return err
			}
			a.log("cancelled")
			return nil
		}
	}
	a.log("Resetting database...")
	ok, err := db.insertLock(ctx, "migrations", o.owner, o.lockTimeout)
	if err != nil {
		a.logAt("error", "%s - retrying without cluster lock", err)
		_, _ = db.conn.Exec(ctx, "ROLLBACK")
	} else if !ok {
		a.log("%s", abortedMsg)
		return &exitErr{code: 1}
	}
	schema := pgx.Identifier{db.schema}.Sanitize()
	if _, err := db.conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA IF NOT EXISTS "+schema+" AUTHORIZATION CURRENT_USER"); err != nil {
		// No privilege on the schema: drop the tables one by one.
		rows, qerr := db.conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, db.schema)
		if qerr != nil {
			return fail("%s", pgErr(err))
		}
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, n := range names {
			if _, err := db.conn.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{db.schema, n}.Sanitize()+" CASCADE"); err != nil {
				return fail("%s", pgErr(err))
			}
		}
	}
	a.log("Database successfully reset")
	return nil
}

func (a *app) confirm() (bool, error) {
	prompt := "> Are you sure? This operation is irreversible. [y/n] "
	if !a.rel.AtLeast(3, 0) {
		prompt = "> Are you sure? This operation is irreversible. [Y/n] "
	}
	in := bufio.NewReader(a.stdio.Stdin)
	for i := 0; i < 3; i++ {
		fmt.Fprint(a.stdio.Stdout, prompt)
		line, err := in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		if err != nil {
			break
		}
	}
	return false, nil
}
