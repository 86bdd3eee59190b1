package kongsim

// DefaultWorkspaceID is the id of the `default` workspace that 000_base
// creates.
const DefaultWorkspaceID = "3b1e2a7c-6f4d-4c38-9d55-6f0a6c1f2b10"

type migSQL struct{ up, teardown string }

// migrationSQL holds the migrations that do real work; every other one runs
// a no-op statement in its own transaction.
//
//   - core/000_base creates the entity tables (workspaces, services, routes,
//     consumers, plugins, clustering_data_planes) in their 2.8 shape,
//     including plugins.run_on (a 2.x column).
//   - core/015_270_to_280 adds services.tls_verify and tls_verify_depth.
//   - core/016_280_to_300 `up` rewrites regex route paths with the `~` prefix
//     (as Kong 3.0 did); its teardown drops plugins.run_on, so a 2.8 node
//     on a finished 3.x database fails on plugins (reference 6.7).
//   - core/017_300_to_310 adds routes.expression and routes.priority.
//   - the data migrations (per-row work over the plugins table, the
//     key-auth credentials table) are in schema_data.go.
//   - enterprise/006_1301_to_1500 creates the RBAC tables (rbac_users,
//     rbac_roles, rbac_user_roles, rbac_role_endpoints, admins; the columns
//     kongctl's upgrade touches, kong-reference 9.1) and seeds the roles
//     read-only, admin and super-admin (actions: read=1 ... delete=8); the
//     super admin from KONG_PASSWORD is seeded by bootstrap (rbac.go).
var migrationSQL = map[string]migSQL{
	"core/000_base": {up: `
CREATE TABLE IF NOT EXISTS workspaces (
  id uuid PRIMARY KEY, name text UNIQUE, comment text,
  created_at timestamptz DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
  meta jsonb, config jsonb);
INSERT INTO workspaces (id, name) VALUES ('` + DefaultWorkspaceID + `', 'default') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS services (
  id uuid PRIMARY KEY, created_at timestamptz, updated_at timestamptz,
  name text UNIQUE, retries bigint, protocol text, host text, port bigint, path text,
  connect_timeout bigint, write_timeout bigint, read_timeout bigint,
  tags text[], ws_id uuid REFERENCES workspaces (id));
CREATE TABLE IF NOT EXISTS routes (
  id uuid PRIMARY KEY, created_at timestamptz, updated_at timestamptz,
  name text UNIQUE, service_id uuid REFERENCES services (id),
  protocols text[], methods text[], hosts text[], paths text[],
  regex_priority bigint, strip_path boolean, preserve_host boolean,
  tags text[], ws_id uuid REFERENCES workspaces (id));
CREATE INDEX IF NOT EXISTS routes_service_id_idx ON routes (service_id);
CREATE TABLE IF NOT EXISTS consumers (
  id uuid PRIMARY KEY, created_at timestamptz, username text UNIQUE, custom_id text UNIQUE,
  tags text[], ws_id uuid REFERENCES workspaces (id));
CREATE TABLE IF NOT EXISTS plugins (
  id uuid PRIMARY KEY, created_at timestamptz, name text NOT NULL,
  consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE,
  service_id uuid REFERENCES services (id) ON DELETE CASCADE,
  route_id uuid REFERENCES routes (id) ON DELETE CASCADE,
  config jsonb NOT NULL, enabled boolean NOT NULL, cache_key text UNIQUE,
  protocols text[], tags text[], ws_id uuid REFERENCES workspaces (id),
  run_on text);
CREATE TABLE IF NOT EXISTS clustering_data_planes (
  id uuid PRIMARY KEY, hostname text NOT NULL, ip text NOT NULL,
  last_seen timestamptz DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
  config_hash text NOT NULL, ttl timestamptz, version text, sync_status text);
`},
	"core/015_270_to_280": {up: `
ALTER TABLE services ADD COLUMN IF NOT EXISTS tls_verify boolean;
ALTER TABLE services ADD COLUMN IF NOT EXISTS tls_verify_depth smallint;
`},
	"core/016_280_to_300": {
		up: `
UPDATE routes SET paths = (
  SELECT array_agg(CASE WHEN p !~ '^[a-zA-Z0-9._~/%-]*$' AND left(p, 1) <> '~' THEN '~' || p ELSE p END ORDER BY ord)
  FROM unnest(routes.paths) WITH ORDINALITY AS u(p, ord))
WHERE paths IS NOT NULL AND cardinality(paths) > 0;
`,
		teardown: `ALTER TABLE plugins DROP COLUMN IF EXISTS run_on;`,
	},
	"core/017_300_to_310": {up: `
ALTER TABLE routes ADD COLUMN IF NOT EXISTS expression text;
ALTER TABLE routes ADD COLUMN IF NOT EXISTS priority bigint;
`},
	"enterprise/006_1301_to_1500": {up: `
CREATE TABLE IF NOT EXISTS rbac_users (
  id uuid PRIMARY KEY, name text UNIQUE, user_token text, user_token_ident text,
  comment text, enabled boolean, created_at timestamptz, ws_id uuid REFERENCES workspaces (id));
CREATE INDEX IF NOT EXISTS rbac_users_token_ident_idx ON rbac_users (user_token_ident);
CREATE TABLE IF NOT EXISTS rbac_roles (
  id uuid PRIMARY KEY, name text UNIQUE, comment text, is_default boolean DEFAULT false,
  created_at timestamptz, ws_id uuid REFERENCES workspaces (id));
CREATE TABLE IF NOT EXISTS rbac_user_roles (
  user_id uuid REFERENCES rbac_users (id) ON DELETE CASCADE,
  role_id uuid REFERENCES rbac_roles (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, role_id));
CREATE TABLE IF NOT EXISTS rbac_role_endpoints (
  role_id uuid REFERENCES rbac_roles (id) ON DELETE CASCADE, workspace text NOT NULL,
  endpoint text NOT NULL, actions smallint NOT NULL, negative boolean NOT NULL DEFAULT false,
  created_at timestamptz, PRIMARY KEY (role_id, workspace, endpoint));
CREATE TABLE IF NOT EXISTS admins (
  id uuid PRIMARY KEY, username text UNIQUE, custom_id text, email text,
  rbac_user_id uuid REFERENCES rbac_users (id), rbac_token_enabled boolean NOT NULL,
  status smallint, created_at timestamptz);
INSERT INTO rbac_roles (id, name, comment, created_at, ws_id) VALUES
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a61', 'read-only', 'Read access to all endpoints, across all workspaces', now(), '` + DefaultWorkspaceID + `'),
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a62', 'admin', 'Full access to all endpoints, across all workspaces, except the RBAC Admin API', now(), '` + DefaultWorkspaceID + `'),
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a63', 'super-admin', 'Full access to all endpoints, across all workspaces', now(), '` + DefaultWorkspaceID + `')
  ON CONFLICT (name) DO NOTHING;
INSERT INTO rbac_role_endpoints (role_id, workspace, endpoint, actions, negative, created_at) VALUES
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a61', '*', '*', 1, false, now()),
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a62', '*', '*', 15, false, now()),
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a62', '*', '/rbac/*', 15, true, now()),
  ('b6d1a0c2-7e55-4c1b-9f0a-3c1d2e4f5a63', '*', '*', 15, false, now())
  ON CONFLICT DO NOTHING;
`},
}
