// Package kongsim is the Kong Gateway simulator of the lab: a Go program
// that behaves like the `kong` CLI and its nginx daemon as
// shared/docs/kong-reference.md describes them (section 8 is its spec).
// lab/cmd/kong is its main; lab/pkgbuild ships it as kong /
// kong-enterprise-edition .deb and .rpm packages, one per simulated release
// (Releases: OSS 2.8.4, 3.4.2, 3.5.0, 3.6.1, 3.7.1, 3.8.1, 3.9.1, 3.9.3;
// Enterprise 3.4.3.5, 3.10.0.2, 3.14.0.0). The version and edition are
// baked in with
//
//	-ldflags "-X main.version=3.4.2 -X main.edition=oss"
//
// (without them FAKE_KONG_VERSION / FAKE_KONG_EDITION apply, default 3.4.2).
//
// # Commands
//
// kong migrations bootstrap|up|finish|list|reset (and status from 3.0),
// start, stop, quit, restart, reload, health, check, prepare, version,
// config init|db_export|db_import|parse, drain (3.9+), roar. Output
// streams, texts and exit codes follow reference 1.3, 2.4 and 3.1. The
// migration catalogue follows 1.4 (core lists per version, teardown flags,
// bundled plugin subsystems; Enterprise adds `enterprise`, `openid-connect`
// and `saml`). schema_meta and locks are real PostgreSQL tables (pgx), one
// commit per migration, and the cluster lock follows 2.3.
//
// Migrations do real work: core/000_base creates workspaces, services,
// routes, consumers, plugins and clustering_data_planes;
// core/016_280_to_300 prefixes regex route paths with `~` and its teardown
// drops plugins.run_on (so a 2.8 node breaks on plugins after `finish`);
// core/017_300_to_310 adds routes.expression and routes.priority; the
// data migrations (schema_data.go) rewrite plugin rows over the real rows,
// so their time grows with the data: the 3.0 fix-ups of pre-function,
// post-function and http-log read every plugins row, 3.6's rate-limiting,
// response-ratelimiting and acme rewrites update every row of the plugin.
//
// Each migration step is one "BEGIN; ...; COMMIT;" query, then its
// schema_meta record, each bounded as Kong bounds a migration query
// (migtimeout.go): --db-timeout, else 60 s through 3.6, else pg_timeout.
// A query past it fails with pgmoon's "receive_message: failed to get
// type: timeout" and is abandoned without a cancel request: the server
// commits the step, schema_meta does not record it, the lock stays until
// its TTL.
//
// # Configuration
//
// Defaults < -c file (else /etc/kong/kong.conf, else /etc/kong.conf) <
// KONG_<KEY> environment < -p / --db-timeout. Keys used: prefix, database
// (postgres|off), pg_host, pg_port, pg_user, pg_password, pg_database,
// pg_schema, pg_timeout, pg_ssl_version (validated), plugins (bundled, off,
// names), proxy_listen, admin_listen, status_listen (off before 3.6,
// 127.0.0.1:8007 from 3.6), cluster_listen, cluster_control_plane, role
// (traditional|control_plane|data_plane), nginx_daemon, log_level. Listen
// entries with `ssl` are accepted but not served; with one, each ssl_cert /
// ssl_cert_key (and admin_ forms) that is neither a file nor inline PEM
// fails every command ("ssl_cert: failed loading certificate from <v>",
// sslfiles.go). A plugin of `plugins` that is not bundled needs its
// kong.plugins.<name>.handler module on lua_package_path or under
// /usr/local/share/lua/5.1 (a custom plugin's package puts it there):
// without it the start fails as nginx init does ("<name> plugin is enabled
// but not installed", plugins.go); migrations skip it, as Kong's do.
//
// Properties removed or renamed between the simulated releases
// (confcompat.go, kong-reference 9.2-9.3): a removed key (go_plugins_dir,
// nginx_optimizations, cassandra_*, privileged_agent, EE portal_*/vitals*
// ...) is dropped silently; a deprecated alias (client_max_body_size on
// 2.8, opentelemetry_tracing on 3.x, EE admin_api_uri) is copied to its
// replacement and warned about by `kong start` only; EE 3.10 refuses
// pg_ssl_version = tlsv1_1 (`<key> has an invalid value`); an
// nginx_<block>_<directive> key is injected into nginx-kong.conf and a
// directive the release's nginx does not know (`ssl` from 3.6, nginx
// 1.25.1) fails `kong prepare`/`start` at the nginx test, not `kong check`.
//
// Enterprise keyring (keyring.go, keyring_admin.go, kong-reference 9.8):
// keyring_enabled with keyring_strategy = cluster keeps the keys only in
// the running nodes' memory, shared through keyring_register and
// keyring_broadcast rows of cluster_events as Kong's cluster strategy
// does; GET /keyring, /keyring/active, POST /keyring/export (needs
// keyring_public_key), /keyring/import (needs keyring_private_key),
// /keyring/activate, /keyring/recover (keys kept in keyring_keys under
// keyring_recovery_public_key). http-log's config.http_endpoint is encrypted at rest;
// once every node restarted without an import, reading it answers 500.
//
// # Daemon
//
// `kong start` writes <prefix>/.kong_env (0640, Kong's banner and every
// resolved property), nginx.conf,
// nginx-kong.conf and logs/, then runs this binary as `nginx -p <prefix>`
// in a new session (setsid, detached from the caller and its SSH session)
// and waits for it to report ready; the daemon writes
// <prefix>/pids/nginx.pid. Under systemd the package unit runs
// /usr/local/openresty/nginx/sbin/nginx (a symlink to kong) in the
// foreground with KONG_NGINX_DAEMON=off, stopped with QUIT. Signals: TERM
// and INT stop at once, QUIT stops gracefully, HUP reloads .kong_env, USR1
// reopens logs. The daemon refuses to start when the schema needs a
// bootstrap or has new migrations, or when the database is unreachable.
//
// It serves: the proxy (routes from the database, refreshed every second;
// methods, hosts, prefix and regex paths; services whose host ends in
// `.internal` are answered by the node itself with a JSON echo of the
// request, others are proxied; 404 {"message":"no Route matched with those
// values"}); the Admin API (GET /, CRUD for services, routes and plugins
// incl. nested /services/{id|name}/routes, /status, /metrics,
// /workspaces on Enterprise, /clustering/data-planes on a control plane);
// the Status API when status_listen is not off (/status, /status/ready,
// /metrics). Metrics use the 2.8 names on 2.8 and the 3.x names on 3.x.
// A database outage shows as reachable:false while the last router keeps
// serving.
//
// Hybrid mode: a control plane serves cluster_listen with the simulator's
// own protocol (POST /v1/sync, see hybrid.go) and records data planes in
// clustering_data_planes; a data plane (database=off) polls
// cluster_control_plane every second (FAKE_KONG_CLUSTER_PING), serves the last configuration it
// received and keeps it in <prefix>/config.cache so a restart still
// serves. A data plane whose major differs or whose minor is newer than the
// control plane's is refused (sync_status "kong_version_incompatible").
//
// # Faults for tests
//
// Set in the environment, or as KEY=VALUE lines in <prefix>/fault.env
// (so a test driving a node over SSH can set them; the environment wins):
//
//	FAKE_KONG_MIGRATION_FAIL=<name>   the up step of migration <name> fails:
//	                                  "[PostgreSQL error] cluster_mutex callback threw an error: ...
//	                                  failed to run migration '<name>' up: ...", exit 1, lock removed.
//	                                  <name>:teardown fails its teardown (finish) instead.
//	FAKE_KONG_CRASH_AFTER=<n>         exit 137 after n migrations of this run, leaving the lock row
//	                                  and the rows recorded so far (0: right after taking the lock).
//	FAKE_KONG_SLOW=<sec>              sleep that long before each migration.
//	FAKE_KONG_REFUSE_START=1          start fails: "Error: nginx: [emerg] bind() to <addr> failed
//	                                  (98: Address already in use)", exit 1.
//	FAKE_KONG_START_5XX=1             start succeeds, the proxy answers every request with 500.
//	FAKE_KONG_PROXY_DELAY=<seconds>   every proxied request waits that long (the latency histogram shows it).
//	FAKE_KONG_SLOW_STOP=<sec>         the daemon ignores QUIT for that long (TERM still stops it).
//	FAKE_KONG_CLUSTER_PING=<sec>      a data plane syncs with its control plane that often instead of
//	                                  every second, each sync a heartbeat the control plane writes into
//	                                  clustering_data_planes (lab-only: Kong pings every 30 s). Read at
//	                                  start and on reload.
//	FAKE_KONG_POSTINST_SLEEP=<sec>    read by the package's postinstall script (lab/pkgbuild), not the
//	                                  simulator: configuring the package takes that much longer.
package kongsim
