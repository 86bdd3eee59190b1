package labenv

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// rowsSQL fills the Kong database with n consumers and one plugin row per
// consumer (rate-limiting, scoped to the consumer), in the simulator's own
// schema (lab/kongsim/schema.go: core/000_base's consumers and plugins,
// which every version has), in one transaction, then ANALYZE (the
// simulator sizes its configuration loads by the planner's row count). Ids are
// derived from the row number, so a second run adds nothing (ON CONFLICT DO
// NOTHING). The plugin rows leave run_on NULL (a 2.x node reads it as
// "first"; 3.0's teardown drops the column), and their cache_key has the
// shape the simulator's Admin API writes. No key-auth credentials: the
// simulator has no keyauth_credentials table.
func rowsSQL(n int) string {
	return strings.ReplaceAll(`BEGIN;
-- The rows reference what exists by construction (the default workspace,
-- the consumers just written): no foreign-key trigger per row.
SET LOCAL session_replication_role = replica;
INSERT INTO consumers (id, created_at, username, custom_id, tags, ws_id)
SELECT md5('kongctl-lab-consumer-' || i)::uuid, now(), 'lab-consumer-' || i, 'lab-' || i,
       ARRAY['lab-rows'], (SELECT id FROM workspaces WHERE name = 'default')
FROM generate_series(1, @N@) AS i
ON CONFLICT DO NOTHING;
INSERT INTO plugins (id, created_at, name, consumer_id, config, enabled, cache_key, protocols, tags, ws_id)
SELECT md5('kongctl-lab-plugin-' || i)::uuid, now(), 'rate-limiting', c.id,
       '{"minute": 100, "policy": "local", "limit_by": "consumer"}'::jsonb, true,
       'plugins:rate-limiting:::' || c.id::text || '::',
       ARRAY['grpc', 'grpcs', 'http', 'https'], ARRAY['lab-rows'], c.ws_id
FROM generate_series(1, @N@) AS i
JOIN consumers c ON c.id = md5('kongctl-lab-consumer-' || i)::uuid
ON CONFLICT DO NOTHING;
COMMIT;
ANALYZE consumers;
ANALYZE plugins;
`, "@N@", fmt.Sprint(n))
}

// fillRows writes Options.Rows consumers and plugin rows into the database
// (on the db host, as the postgres superuser over the local socket).
func (l *Lab) fillRows(ctx context.Context) error {
	n := l.st.Options.Rows
	if n <= 0 {
		return nil
	}
	t0 := time.Now()
	db := l.DBHost()
	if _, err := execIn(ctx, db, strings.NewReader(rowsSQL(n)), l.dbEnv(), l.script("db.sh")+" sql"); err != nil {
		return fmt.Errorf("host %s: fill %d consumers and plugins: %w", db.Name, n, err)
	}
	l.logf("database filled with %d consumers and %d plugins in %.1fs", n, n, time.Since(t0).Seconds())
	return nil
}
