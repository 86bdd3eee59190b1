package runner

import (
	"fmt"
	"strconv"

	"github.com/kongctl/kongctl/inventory"
)

// The dual-cluster's target database on another PostgreSQL server (the
// inventory's target_database object): the tools host restores X's
// backup there (the database adapter connects to that server for the
// target's operations), and Y's kong.conf on the spares points at it.
// X's database is still only read.

// TargetServerSpec is the target database's server when it is not X's.
type TargetServerSpec struct {
	Host string
	Port int
	User string
	// Password resolves the target's password reference (the target's
	// own, or the database block's); nil: none.
	Password func() ([]byte, error)
}

// targetServerOf is the spec of the inventory's target server (nil when
// the target is on X's server).
func targetServerOf(t *inventory.Database) *TargetServerSpec {
	if t == nil {
		return nil
	}
	ts := &TargetServerSpec{Host: t.Host, Port: t.Port, User: t.User}
	if !t.Secret.IsZero() {
		ts.Password = t.Password
	}
	return ts
}

// targetWhere is where the target database is, for the plan, the notes
// and the report: host:port/name on another server, else its name (on
// X's server).
func (s *Spec) targetWhere() string {
	if t := s.TargetServer; t != nil {
		return t.Host + ":" + strconv.Itoa(t.Port) + "/" + s.TargetDB
	}
	return s.TargetDB
}

// targetPassword resolves the target server's password reference (nil,
// nil: none, or the target is on X's server) and hands it to the
// redactor.
func (e *engine) targetPassword() ([]byte, error) {
	t := e.spec.TargetServer
	if t == nil || t.Password == nil {
		return nil, nil
	}
	pw, err := t.Password()
	if err != nil {
		return nil, fmt.Errorf("resolve the target database password reference: %w", err)
	}
	e.red.add(pw)
	return pw, nil
}

// targetConf is kong.conf as Y runs it: pg_database the target, and on
// another server also pg_host, pg_port, pg_user and (with a password
// reference) pg_password, the credentials preflight checked. The file
// reaches the spares over the agent's stdin, never a command line.
func (e *engine) targetConf(conf []byte) ([]byte, error) {
	conf = confWithDatabase(conf, e.spec.TargetDB)
	t := e.spec.TargetServer
	if t == nil {
		return conf, nil
	}
	conf = confWithSetting(conf, "pg_host", t.Host)
	conf = confWithSetting(conf, "pg_port", strconv.Itoa(t.Port))
	conf = confWithSetting(conf, "pg_user", t.User)
	pw, err := e.targetPassword()
	if err != nil {
		return nil, err
	}
	if pw != nil {
		conf = confWithSetting(conf, "pg_password", string(pw))
	}
	return conf, nil
}
