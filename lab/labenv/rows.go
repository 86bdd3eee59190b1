package labenv

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// rowsSQL fills the Kong database with n consumers, one key-auth
// credential per consumer and one plugin row per consumer (rate-limiting,
// scoped to the consumer, its config as Kong stores it: every field with
// its default, the flat redis_* fields that 3.6's 006_350_to_360 folds
// into config.redis), in the simulator's own schema (lab/kongsim/schema.go
// and schema_data.go: consumers, plugins and key-auth's
// keyauth_credentials, which every version has), in one transaction, then
// ANALYZE (the simulator sizes its configuration loads by the planner's
// row count). Ids are derived from the row number, so a second run adds
// nothing (ON CONFLICT DO NOTHING). The plugin rows leave run_on NULL (a
// 2.x node reads it as "first"; 3.0's teardown drops the column), and
// their cache_key has the shape the simulator's Admin API writes.
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
       '`+rateLimitingConfig+`'::jsonb, true,
       'plugins:rate-limiting:::' || c.id::text || '::',
       ARRAY['grpc', 'grpcs', 'http', 'https'], ARRAY['lab-rows'], c.ws_id
FROM generate_series(1, @N@) AS i
JOIN consumers c ON c.id = md5('kongctl-lab-consumer-' || i)::uuid
ON CONFLICT DO NOTHING;
INSERT INTO keyauth_credentials (id, created_at, consumer_id, key, tags, ws_id)
SELECT md5('kongctl-lab-key-' || i)::uuid, now(), md5('kongctl-lab-consumer-' || i)::uuid,
       md5('kongctl-lab-key-secret-' || i), ARRAY['lab-rows'], (SELECT id FROM workspaces WHERE name = 'default')
FROM generate_series(1, @N@) AS i
ON CONFLICT DO NOTHING;
COMMIT;
ANALYZE consumers;
ANALYZE plugins;
ANALYZE keyauth_credentials;
`, "@N@", fmt.Sprint(n))
}

// rateLimitingConfig is a rate-limiting config as Kong 2.8-3.5 stores it:
// the admin's fields plus every default.
const rateLimitingConfig = `{"second": null, "minute": 100, "hour": null, "day": null, "month": null, "year": null, ` +
	`"limit_by": "consumer", "header_name": null, "path": null, "policy": "local", "fault_tolerant": true, ` +
	`"redis_host": null, "redis_port": 6379, "redis_password": null, "redis_username": null, "redis_ssl": false, ` +
	`"redis_ssl_verify": false, "redis_server_name": null, "redis_timeout": 2000, "redis_database": 0, ` +
	`"hide_client_headers": false}`

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
		return fmt.Errorf("host %s: fill %d consumers, credentials and plugins: %w", db.Name, n, err)
	}
	l.logf("database filled with %d consumers, key-auth credentials and plugins in %.1fs", n, time.Since(t0).Seconds())
	return nil
}
