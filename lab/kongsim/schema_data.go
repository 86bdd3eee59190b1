package kongsim

import "strings"

// The data migrations: those whose cost grows with the rows (kong-reference
// 9.4). Each is SQL over the real rows of the database, run as Kong runs a
// migration (migtimeout.go): no sleep stands for the work.
//
// 2.8 -> 3.x:
//   - key-auth/000_base_key_auth creates keyauth_credentials in its 2.8
//     shape (the lab's ROWS option fills it, one key per consumer).
//   - pre-function and post-function 001_280_to_300: `up` copies
//     config.functions to config.access, the teardown (at finish) removes
//     config.functions. Kong's migration file only requires a second file
//     that defines the teardown (9.4's correction to 1.4), so both stay
//     pending after `up`.
//   - http-log 001_280_to_300, teardown only: each header whose value is
//     still an array becomes its first element, or "empty header value"
//     for an empty array (Kong/kong kong/plugins/http-log/migrations/
//     001_280_to_300.lua; 9.4's "comma-joined" is not what the code does).
//
// These three are Kong's fixup_plugin_config (kong/db/migrations/
// operations/280_to_300.lua): read every row of plugins, one UPDATE per
// matching row, so their cost follows the whole plugins table.
//
// 3.4 -> 3.10, all on plugins.config:
//   - rate-limiting 006_350_to_360 and response-ratelimiting
//     001_350_to_360 (3.6): one UPDATE over the plugin's rows builds
//     config.redis from the flat redis_* fields; the teardown deletes them
//     (the UPDATE of Kong/kong#12978).
//   - acme 003_350_to_360 (3.6): storage_config.redis auth, ssl_server_name,
//     scan_count, namespace become password, server_name and
//     extra_options.*; the teardown removes the old keys.
//   - opentelemetry 001_331_to_332, teardown: queue.max_batch_size 1 -> 200;
//     ai-proxy 001_360_to_370, teardown: logging.log_statistics = false for
//     anthropic llm/v1/completions (both fix-ups over every plugin row).
//
// Not modelled: core 016's targets and vaults (the simulator has neither
// table) and Enterprise's audit_objects, rbac_role_endpoints and
// rate-limiting-advanced rewrites (the lab fills none of those tables).
var dataMigrationSQL = map[string]migSQL{
	"key-auth/000_base_key_auth": {up: `
CREATE TABLE IF NOT EXISTS keyauth_credentials (
  id uuid PRIMARY KEY, created_at timestamptz,
  consumer_id uuid REFERENCES consumers (id) ON DELETE CASCADE,
  key text UNIQUE, tags text[], ttl timestamptz, ws_id uuid REFERENCES workspaces (id));
CREATE INDEX IF NOT EXISTS keyauth_credentials_consumer_id_idx ON keyauth_credentials (consumer_id);
CREATE INDEX IF NOT EXISTS keyauth_credentials_ttl_idx ON keyauth_credentials (ttl);
`},
	"pre-function/001_280_to_300":  functionsToAccess("pre-function"),
	"post-function/001_280_to_300": functionsToAccess("post-function"),
	"http-log/001_280_to_300": {teardown: pluginFixup("http-log",
		`jsonb_typeof(r.config->'headers') = 'object' AND EXISTS (SELECT 1 FROM jsonb_each(r.config->'headers') AS e(k, v) WHERE jsonb_typeof(v) = 'array')`,
		`jsonb_set(r.config, '{headers}', (SELECT jsonb_object_agg(k, CASE
    WHEN jsonb_typeof(v) <> 'array' THEN v
    WHEN jsonb_array_length(v) = 0 THEN to_jsonb('empty header value'::text)
    ELSE v->0 END) FROM jsonb_each(r.config->'headers') AS e(k, v)))`)},
	"rate-limiting/006_350_to_360":         flatRedisToObject("rate-limiting"),
	"response-ratelimiting/001_350_to_360": flatRedisToObject("response-ratelimiting"),
	"acme/003_350_to_360": {
		up: guarded(`UPDATE plugins SET config = jsonb_set(config, '{storage_config,redis}',
    (config #> '{storage_config,redis}')
    || jsonb_build_object('password', config #> '{storage_config,redis,auth}',
                          'server_name', config #> '{storage_config,redis,ssl_server_name}',
                          'extra_options', jsonb_build_object(
                            'scan_count', config #> '{storage_config,redis,scan_count}',
                            'namespace', config #> '{storage_config,redis,namespace}')))
  WHERE name = 'acme' AND jsonb_typeof(config #> '{storage_config,redis}') = 'object';`),
		teardown: guarded(`UPDATE plugins SET config = jsonb_set(config, '{storage_config,redis}',
    (config #> '{storage_config,redis}') - 'auth' - 'ssl_server_name' - 'scan_count' - 'namespace')
  WHERE name = 'acme' AND jsonb_typeof(config #> '{storage_config,redis}') = 'object';`),
	},
	"opentelemetry/001_331_to_332": {teardown: pluginFixup("opentelemetry",
		`r.config #>> '{queue,max_batch_size}' = '1'`,
		`jsonb_set(r.config, '{queue,max_batch_size}', '200'::jsonb)`)},
	"ai-proxy/001_360_to_370": {teardown: pluginFixup("ai-proxy",
		`r.config #>> '{model,provider}' = 'anthropic' AND r.config->>'route_type' = 'llm/v1/completions'`,
		`jsonb_set(r.config, '{logging,log_statistics}', 'false'::jsonb)`)},
}

// init adds them to migrationSQL, after what other files put there.
func init() {
	for k, v := range dataMigrationSQL {
		m := migrationSQL[k]
		m.up = strings.Join(nonEmpty([]string{m.up, v.up}), "\n")
		m.teardown = strings.Join(nonEmpty([]string{m.teardown, v.teardown}), "\n")
		migrationSQL[k] = m
	}
}

// pluginFixup is Kong's fixup_plugin_config in SQL: a loop over every row
// of plugins (id, name, config) and, for each row of plugin whose config
// meets cond, one UPDATE by id setting config to expr (both refer to the
// row as r).
func pluginFixup(plugin, cond, expr string) string {
	return `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT id, name, config FROM plugins LOOP
    IF r.name = '` + plugin + `' AND (` + cond + `) THEN
      UPDATE plugins SET config = ` + expr + ` WHERE id = r.id;
    END IF;
  END LOOP;
END $$;`
}

func functionsToAccess(plugin string) migSQL {
	return migSQL{
		up: pluginFixup(plugin, `r.config ? 'functions' AND coalesce(jsonb_array_length(r.config->'access'), 0) = 0`,
			`jsonb_set(r.config, '{access}', r.config->'functions')`),
		teardown: pluginFixup(plugin, `r.config ? 'functions'`, `r.config - 'functions'`),
	}
}

// redisFields are the flat fields 006_350_to_360 folds into config.redis.
var redisFields = []string{"host", "port", "password", "username", "ssl", "ssl_verify", "server_name", "timeout", "database"}

// guarded wraps a statement as Kong's 3.6 migrations do: an undefined
// table or column leaves the state as it is.
func guarded(stmt string) string {
	return "DO $$\nBEGIN\n  " + stmt + "\nEXCEPTION WHEN UNDEFINED_COLUMN OR UNDEFINED_TABLE THEN\n  NULL;\nEND $$;"
}

func flatRedisToObject(plugin string) migSQL {
	var build, drop []string
	for _, f := range redisFields {
		build = append(build, "'"+f+"', config->'redis_"+f+"'")
		drop = append(drop, "'redis_"+f+"'")
	}
	return migSQL{
		up: guarded("UPDATE plugins SET config = config || jsonb_build_object('redis', jsonb_build_object(" +
			strings.Join(build, ", ") + ")) WHERE name = '" + plugin + "';"),
		teardown: guarded("UPDATE plugins SET config = config - " + strings.Join(drop, " - ") +
			" WHERE name = '" + plugin + "';"),
	}
}
