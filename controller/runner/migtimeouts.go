package runner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/kongver"
)

// Migration timeouts sized from the data (issue 16; kong-reference 1.1,
// 9.4). Kong bounds every migration query by --db-timeout (60 s through
// 3.6; from 3.7 without it, pg_timeout: 5 s) and holds its migrations
// lock for --lock-timeout (60 s). Migrations that rewrite rows take time
// in proportion to the tables they read, and Kong/kong#12978 shows a
// 350,000-row rewrite outliving the default and running twice. kongctl
// counts, in preflight, the rows of the tables that the migrations
// between X and Y rewrite and passes both flags to every `kong
// migrations up` and `finish`:
//
//	db-timeout   = max(60 s, 60 s + 1 ms × the largest table's rows)
//	lock-timeout = max(60 s, 60 s + 1 ms × the rows one command reads)
//
// where a command reads each table once per migration of that command
// that rewrites it (`up` and `finish` each; the larger counts). 1 ms a row
// is about six times the rate at which #12978's UPDATE passed 60 s.
// Rounded up to whole seconds. The inventory can set either value
// (upgrade { migrations_db_timeout, migrations_lock_timeout }).
const (
	migTimeoutFloor  = 60 * time.Second
	migTimeoutBase   = 60 * time.Second
	migTimeoutPerRow = time.Millisecond
)

// MigTimeoutFormula is the formula as the plan prints it.
const MigTimeoutFormula = "db-timeout = max(60s, 60s + 1ms x rows of the largest table rewritten); lock-timeout = max(60s, 60s + 1ms x rows one command reads)"

// dataMigration is one migration that reads or rewrites every row of a
// table (kong-reference 9.4), with how many full passes its `up` and its
// teardown (`finish`) make.
type dataMigration struct {
	since      string // first major.minor that ships it
	enterprise bool   // Enterprise only
	name       string // subsystem/name
	table      string
	up, finish int
}

var dataMigrations = []dataMigration{
	{"3.0", false, "core/016_280_to_300", "routes", 1, 0},
	{"3.0", false, "core/016_280_to_300", "targets", 0, 1},
	{"3.0", false, "pre-function/001_280_to_300", "plugins", 1, 1},
	{"3.0", false, "post-function/001_280_to_300", "plugins", 1, 1},
	{"3.0", false, "http-log/001_280_to_300", "plugins", 0, 1},
	{"3.4", true, "enterprise/018_3300_to_3400", "consumers", 1, 0},
	{"3.4", true, "enterprise/018_3300_to_3400", "plugins", 1, 0},
	{"3.4", true, "enterprise/018_3300_to_3400", "routes", 1, 0},
	{"3.4", true, "enterprise/018_3300_to_3400", "services", 1, 0},
	{"3.6", false, "rate-limiting/006_350_to_360", "plugins", 1, 1},
	{"3.6", false, "response-ratelimiting/001_350_to_360", "plugins", 1, 1},
	{"3.6", false, "acme/003_350_to_360", "plugins", 1, 1},
	{"3.7", false, "ai-proxy/001_360_to_370", "plugins", 0, 1},
	{"3.7", true, "enterprise/020_3600_to_3700", "audit_objects", 1, 0},
	{"3.8", false, "opentelemetry/001_331_to_332", "plugins", 0, 1},
	{"3.8", true, "rate-limiting-advanced/001_370_to_380", "plugins", 1, 1},
	{"3.8", true, "graphql-rate-limiting-advanced/001_370_to_380", "plugins", 1, 1},
	{"3.8", true, "proxy-cache-advanced/001_370_to_380", "plugins", 1, 1},
	{"3.8", true, "graphql-proxy-cache-advanced/001_370_to_380", "plugins", 1, 1},
	{"3.8", true, "ai-rate-limiting-advanced/001_370_to_380", "plugins", 1, 1},
}

// MigrationTimeouts are the --db-timeout and --lock-timeout of the run's
// `kong migrations up` and `finish`, and where they come from.
type MigrationTimeouts struct {
	DBTimeout   Seconds `json:"db_timeout_seconds"`
	LockTimeout Seconds `json:"lock_timeout_seconds"`
	// Sized* are the values from the rows, also when the inventory
	// overrides them.
	SizedDB   Seconds `json:"sized_db_timeout_seconds"`
	SizedLock Seconds `json:"sized_lock_timeout_seconds"`
	// Source of each value: "sized" or "inventory".
	DBSource   string `json:"db_source"`
	LockSource string `json:"lock_source"`
	// Rows counted per table the migrations between X and Y rewrite (a
	// table the database does not have is left out).
	Rows map[string]int64 `json:"rows,omitempty"`
	// Migrations are those migrations (subsystem/name).
	Migrations []string `json:"migrations,omitempty"`
	Formula    string   `json:"formula"`
	// Rehearsed is the longest migrations command on the rehearsal (0
	// none); the db timeout is then at least 3 times it (DBSource
	// "rehearsal").
	Rehearsed Seconds `json:"rehearsed_seconds,omitempty"`
}

// Seconds is a whole number of seconds (rounded up), as Kong's flags take
// them.
type Seconds int64

// SecondsOf rounds d up to whole seconds.
func SecondsOf(d time.Duration) Seconds { return Seconds((d + time.Second - 1) / time.Second) }

// Duration is s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }

func (s Seconds) String() string { return fmt.Sprintf("%ds", int64(s)) }

// migrationsBetween returns the data migrations that Y brings to a
// database of X: those first shipped after X's minor, up to Y's.
func migrationsBetween(from, to kongver.Version, enterprise bool) []dataMigration {
	var out []dataMigration
	for _, m := range dataMigrations {
		v, err := kongver.ParseSeries(m.since)
		if err != nil || (m.enterprise && !enterprise) {
			continue
		}
		if minorAfter(v, from) && !minorAfter(v, to) {
			out = append(out, m)
		}
	}
	return out
}

func minorAfter(a, b kongver.Version) bool {
	return a.Major > b.Major || a.Major == b.Major && a.Minor > b.Minor
}

// sizeMigTimeouts applies the formula to row counts.
func sizeMigTimeouts(migs []dataMigration, rows map[string]int64) (db, lock Seconds) {
	var largest, up, finish int64
	for _, m := range migs {
		n := rows[m.table]
		largest = max(largest, n)
		up += int64(m.up) * n
		finish += int64(m.finish) * n
	}
	size := func(n int64) Seconds {
		return SecondsOf(max(migTimeoutFloor, migTimeoutBase+time.Duration(n)*migTimeoutPerRow))
	}
	return size(largest), size(max(up, finish))
}

// checkMigrationTimeouts sizes the migration timeouts in preflight from
// the rows of the tables the migrations between X and Y rewrite, counted
// through the tools host's agent, and applies the inventory's overrides.
// An override below the sized value, or a migrations step timeout below
// the query timeout, is a warning.
func (e *engine) checkMigrationTimeouts(ctx context.Context, pf *preflightData) {
	from, err := kongver.ParseReported(pf.From)
	to := e.toVersion()
	if err != nil || to.IsZero() {
		return // checkFleetVersion and checkPath report it
	}
	migs := migrationsBetween(from, to, e.spec.Edition == "enterprise")
	mt := &MigrationTimeouts{Rows: map[string]int64{}, Formula: MigTimeoutFormula}
	var tables []string
	for _, m := range migs {
		if !slices.Contains(mt.Migrations, m.name) {
			mt.Migrations = append(mt.Migrations, m.name)
		}
		if !slices.Contains(tables, m.table) {
			tables = append(tables, m.table)
		}
	}
	sort.Strings(tables)
	if len(tables) > 0 {
		rows, err := e.countRows(ctx, tables)
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "migration-timeouts", Host: e.spec.ToolsHost,
				Message: "migration timeouts not sized from the data (" + e.red.err(err) + "): Kong's defaults apply unless the inventory sets them",
				Fix:     "make the tools host reach the database, or set upgrade { migrations_db_timeout, migrations_lock_timeout }"})
		}
		mt.Rows = rows
	}
	mt.SizedDB, mt.SizedLock = sizeMigTimeouts(migs, mt.Rows)
	mt.DBTimeout, mt.DBSource = mt.SizedDB, "sized"
	mt.LockTimeout, mt.LockSource = mt.SizedLock, "sized"
	if d := e.spec.MigrationsDBTimeout; d > 0 {
		mt.DBTimeout, mt.DBSource = SecondsOf(d), "inventory"
	}
	if d := e.spec.MigrationsLockTimeout; d > 0 {
		mt.LockTimeout, mt.LockSource = SecondsOf(d), "inventory"
	}
	if mt.DBTimeout < mt.SizedDB || mt.LockTimeout < mt.SizedLock {
		e.find(Finding{Severity: SevWarning, Code: "migration-timeouts",
			Message: fmt.Sprintf("the inventory's migration timeouts (db %s, lock %s) are below the sized ones (db %s, lock %s) for %s", mt.DBTimeout, mt.LockTimeout, mt.SizedDB, mt.SizedLock, rowsText(mt.Rows)),
			Fix:     "a migration query past --db-timeout fails the upgrade (and is rolled back); raise the values or remove them to use the sized ones"})
	}
	if e.spec.Timeouts.Migrations > 0 && e.spec.Timeouts.Migrations < mt.DBTimeout.Duration() {
		e.find(Finding{Severity: SevWarning, Code: "migration-timeouts",
			Message: fmt.Sprintf("timeouts.migrations (%s) is shorter than --db-timeout (%s): kongctl stops a migrations command before one of its queries reaches Kong's own timeout", e.spec.Timeouts.Migrations, mt.DBTimeout),
			Fix:     "raise timeouts { migrations = ... } in the inventory"})
	}
	pf.MigTimeouts = mt
}

func (e *engine) countRows(ctx context.Context, tables []string) (map[string]int64, error) {
	db, err := e.database(ctx)
	if err != nil {
		return nil, err
	}
	rc, ok := db.(fleet.RowCounter)
	if !ok {
		return nil, fmt.Errorf("the database connection cannot count rows")
	}
	return rc.RowCounts(ctx, tables)
}

// migrationTimeouts are the --db-timeout and --lock-timeout for `kong
// migrations up/finish`: sized in preflight, else (a journal from before
// they were sized) the inventory's, else the migrations step timeout and
// the lock TTL as before.
func (e *engine) migrationTimeouts() (db, lock time.Duration) {
	if mt := e.pf.MigTimeouts; mt != nil {
		return mt.DBTimeout.Duration(), mt.LockTimeout.Duration()
	}
	db, lock = e.spec.Timeouts.Migrations, e.spec.Timeouts.MigrationLockTTL
	if e.spec.MigrationsDBTimeout > 0 {
		db = e.spec.MigrationsDBTimeout
	}
	if e.spec.MigrationsLockTimeout > 0 {
		lock = e.spec.MigrationsLockTimeout
	}
	return db, lock
}

// RowsText says the rows counted, table by table.
func (mt *MigrationTimeouts) RowsText() string { return rowsText(mt.Rows) }

func rowsText(rows map[string]int64) string {
	if len(rows) == 0 {
		return "no rows to rewrite"
	}
	var parts []string
	for _, t := range sortedKeys(rows) {
		parts = append(parts, fmt.Sprintf("%s %d rows", t, rows[t]))
	}
	return strings.Join(parts, ", ")
}
