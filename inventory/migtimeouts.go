package inventory

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// MigrationTimeouts override the --db-timeout and --lock-timeout that
// kongctl sizes from the database's rows for `kong migrations up` and
// `finish` (upgrade { migrations_db_timeout, migrations_lock_timeout }).
// 0 = sized.
type MigrationTimeouts struct {
	DBTimeout   time.Duration
	LockTimeout time.Duration
}

// decodeMigrationTimeouts reads the overrides: durations of at least one
// second (Kong's flags take seconds), each error at its value's range.
func (d *decoder) decodeMigrationTimeouts(a hcl.Attributes) MigrationTimeouts {
	var t MigrationTimeouts
	for name, dst := range map[string]*time.Duration{"migrations_db_timeout": &t.DBTimeout, "migrations_lock_timeout": &t.LockTimeout} {
		at, ok := a[name]
		if !ok {
			continue
		}
		v, ok := d.duration(at, false)
		if !ok {
			continue
		}
		if v < time.Second {
			d.errorf(at.Expr.Range(), "Invalid duration",
				"%s is passed to `kong migrations` in whole seconds and must be at least \"1s\"; %s is shorter.", name, v)
			continue
		}
		*dst = v
	}
	return t
}
