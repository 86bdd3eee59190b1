package runner

import (
	"context"
	"net"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/upgradepath"
)

// PostgreSQL requirements of Y (kong-reference 9.7): the server's version
// against Kong's code minimum (refused) and documented range (a warning),
// and the authentication method of Kong's user against Y's driver
// (refused when pg_hba says it, a warning when only the stored password
// hints at it). The rules are upgradepath.CheckPostgres.

// checkPostgres reads the server through the tools host and checks it.
func (e *engine) checkPostgres(ctx context.Context, pf *preflightData) {
	y := e.toVersion()
	db, err := e.database(ctx)
	if err != nil {
		return // checkDatabase reports it
	}
	sdb, ok := db.(fleet.PGServerDB)
	if !ok {
		return
	}
	user := e.spec.DB.User
	if f, ok := pf.Facts[e.spec.MigrationHost]; ok {
		for _, s := range f.DB {
			if s.Key == "pg_user" && s.Value != "" {
				user = s.Value
			}
		}
	}
	srv, rules, err := sdb.ServerInfo(ctx, user)
	if err != nil {
		e.find(Finding{Severity: SevWarning, Code: "pg-requirements", Host: e.spec.ToolsHost,
			Message: "read the PostgreSQL server's version and pg_hba rules: " + e.red.err(err)})
		return
	}
	if rules != nil {
		if r, ok := upgradepath.MatchHBA(rules, e.spec.DB.Name, user, e.nodeIPs()); ok {
			srv.Method, srv.MethodLine = r.Method, r.Line
		}
	}
	for _, is := range upgradepath.CheckPostgres(y, srv) {
		sev := SevWarning
		if is.Error {
			sev = SevError
		}
		e.find(Finding{Severity: sev, Code: is.Code, Host: e.spec.ToolsHost, Message: is.Message, Fix: is.Fix})
	}
}

// nodeIPs are the inventory addresses of the nodes that connect to the
// database, where they are IP literals (host names are left out).
func (e *engine) nodeIPs() []net.IP {
	var out []net.IP
	for _, h := range e.spec.Hosts {
		if !h.Has("kong") {
			continue
		}
		if ip := net.ParseIP(h.Address); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}
