package runner

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/upgradepath"
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

// targetOnXServer reports whether the target is on X's server: no
// target server, or one at X's host and port.
func (s *Spec) targetOnXServer() bool {
	t := s.TargetServer
	return t == nil || strings.EqualFold(t.Host, s.DB.Host) && t.Port == s.DB.Port
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

// checkTargetServer (preflight, a target on another server): Y's
// PostgreSQL requirements on that server (kong-reference 9.7) as on
// X's, its pg_hba admitting the target's role to the target from every
// spare (Y connects from there; when the role may not read the rules, a
// finding says the check did not run), and the same PostgreSQL major
// version as X's server (kong-reference 9.8: the backup is restored into
// it).
func (e *engine) checkTargetServer(ctx context.Context, tdb fleet.TargetDB) {
	t := e.spec.TargetServer
	sdb, ok := tdb.(fleet.TargetPGServerDB)
	if t == nil || !ok {
		return
	}
	host, where := e.spec.ToolsHost, e.spec.targetWhere()
	srv, rules, err := sdb.TargetServerInfo(ctx, t.User)
	if err != nil {
		e.find(Finding{Severity: SevWarning, Code: "pg-requirements", Host: host,
			Message: "read the target server's version and pg_hba rules (" + where + "): " + e.red.err(err)})
		return
	}
	if rules == nil {
		e.find(Finding{Severity: SevInfo, Code: "target-db-hba", Host: host,
			Message: fmt.Sprintf("role %s may not read the target server's pg_hba rules (%s): whether they admit the spares is not checked before the run", t.User, where),
			Fix:     "make sure the target server's pg_hba.conf admits role " + t.User + " from every spare; to have kongctl check it, GRANT SELECT ON pg_hba_file_rules and EXECUTE ON FUNCTION pg_hba_file_rules() to the role"})
	} else {
		for _, h := range e.spec.Hosts {
			ip := net.ParseIP(h.Address)
			if !slices.Contains(e.spec.Spares, h.Name) || ip == nil {
				continue
			}
			r, ok := upgradepath.MatchHBA(rules, e.spec.TargetDB, t.User, []net.IP{ip})
			if !ok {
				e.find(Finding{Severity: SevError, Code: "target-db-hba", Host: h.Name,
					Message: fmt.Sprintf("the target server %s:%d admits no connection of role %s to %s from spare %s (%s): no pg_hba.conf rule matches", t.Host, t.Port, t.User, e.spec.TargetDB, h.Name, h.Address),
					Fix:     "add a host rule for the spares to the target server's pg_hba.conf and reload it"})
				continue
			}
			srv.Method, srv.MethodLine = r.Method, r.Line
		}
	}
	for _, is := range upgradepath.CheckPostgres(e.toVersion(), srv) {
		sev := SevWarning
		if is.Error {
			sev = SevError
		}
		e.find(Finding{Severity: sev, Code: is.Code, Host: host, Message: "target server " + where + ": " + is.Message, Fix: is.Fix})
	}
	db, err := e.database(ctx)
	xdb, ok := db.(fleet.PGServerDB)
	if err != nil || !ok || srv.VersionNum == 0 {
		return
	}
	if x, _, err := xdb.ServerInfo(ctx, e.spec.DB.User); err == nil && x.VersionNum > 0 && pgMajor(x.VersionNum) != pgMajor(srv.VersionNum) {
		e.find(Finding{Severity: SevWarning, Code: "target-db-version", Host: host,
			Message: fmt.Sprintf("the target server %s runs PostgreSQL %s, X's runs %s: Kong's dual-cluster restores X's backup into a server of the same version", where, srv.Version, x.Version),
			Fix:     "use a target server of X's PostgreSQL major version (pg_restore into an older one may fail)"})
	}
}

// pgMajor is a server_version_num's major version: 16 for 160004, 906
// for 90624 (before 10, two numbers make the major).
func pgMajor(num int) int {
	if num >= 100000 {
		return num / 10000
	}
	return num / 100
}
