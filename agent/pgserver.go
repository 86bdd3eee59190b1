//go:build !nodeagent

package agent

import (
	"cmp"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// serverInfo answers db.server_info: the server's version, its
// password_encryption, its pg_hba rules and the kind of the Kong role's
// stored password, each read on its own so that a permission refused on
// one (pg_hba_file_rules, pg_authid) leaves the others.
func (a *Agent) serverInfo(ctx context.Context, p *agentproto.ServerInfoParams) (*agentproto.ServerInfoResult, error) {
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	res := &agentproto.ServerInfoResult{KongUser: cmp.Or(p.KongUser, p.DB.User)}
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_setting('password_encryption')`).
		Scan(&res.VersionNum, &res.Version, &res.PasswordEncryption); err != nil {
		return nil, fmt.Errorf("read the server version: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT line_number, type, coalesce(database, '{}'), coalesce(user_name, '{}'), coalesce(address, ''),
 coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, '') FROM pg_hba_file_rules ORDER BY line_number`)
	if err == nil {
		res.HBARules, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (agentproto.HBARule, error) {
			var h agentproto.HBARule
			err := r.Scan(&h.Line, &h.Type, &h.Databases, &h.Users, &h.Address, &h.Netmask, &h.Method, &h.Error)
			return h, err
		})
	}
	if err != nil {
		res.HBARules, res.HBAError = nil, "pg_hba_file_rules: "+err.Error()
	}
	err = conn.QueryRow(ctx, `SELECT CASE WHEN rolpassword IS NULL THEN 'none' WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
 WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5' ELSE 'plain' END FROM pg_authid WHERE rolname = $1`, res.KongUser).Scan(&res.Verifier)
	if err != nil {
		res.Verifier, res.VerifierError = "", "pg_authid: "+err.Error()
	}
	return res, nil
}
