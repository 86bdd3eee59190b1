package sshfleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/upgradepath"
)

// ServerInfo reads the PostgreSQL server's version, password encryption and
// the pg_hba rules for kongUser through the tools host's agent.
func (d *agentDB) ServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error) {
	return d.serverInfo(ctx, d.conn, kongUser)
}

// TargetServerInfo is ServerInfo of the dual-cluster target's server.
func (d *agentDB) TargetServerInfo(ctx context.Context, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error) {
	return d.serverInfo(ctx, d.target, kongUser)
}

func (d *agentDB) serverInfo(ctx context.Context, conn agentproto.DBConn, kongUser string) (upgradepath.PGServer, []upgradepath.HBARule, error) {
	r, err := d.h.client().ServerInfo(ctx, agentproto.ServerInfoParams{DB: conn, KongUser: kongUser})
	if err != nil {
		return upgradepath.PGServer{}, nil, err
	}
	srv := upgradepath.PGServer{VersionNum: r.VersionNum, Version: r.Version, PasswordEncryption: r.PasswordEncryption, Verifier: r.Verifier}
	var rules []upgradepath.HBARule
	if r.HBAError == "" {
		rules = []upgradepath.HBARule{}
		for _, h := range r.HBARules {
			if h.Error != "" {
				continue
			}
			rules = append(rules, upgradepath.HBARule{Line: h.Line, Type: h.Type, Databases: h.Databases, Users: h.Users, Address: h.Address, Netmask: h.Netmask, Method: h.Method})
		}
	}
	return srv, rules, nil
}

// RowCounts counts the rows of Kong tables on the tools host.
func (d *agentDB) RowCounts(ctx context.Context, tables []string) (map[string]int64, error) {
	r, err := d.h.client().RowCounts(ctx, agentproto.RowCountsParams{DB: d.conn, Tables: tables})
	if err != nil {
		return nil, fmt.Errorf("count rows of %s on %s: %w", strings.Join(tables, ", "), d.h.name, err)
	}
	return r.Rows, nil
}
