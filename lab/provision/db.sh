#!/bin/sh
# Provision the Kong database host: a PostgreSQL cluster with a password-protected
# `kong` role and database. Runs as root on the database host (a lab namespace or
# a Vagrant VM). Idempotent.
#
# The kong role's password is read from stdin (first line), never from argv.
#
# Environment:
#   PG_DATA          data directory (default /var/lib/postgresql/kong)
#   PG_LISTEN        listen_addresses (default '*')
#   PG_PORT          port (default 5432)
#   PG_ALLOW         client network allowed with scram-sha-256 (default 198.18.0.0/15)
#   PG_LOG           server log file (default $PG_DATA/../postgresql-kong.log)
#   PG_SOCKET_DIR    unix socket directory (default /run/postgresql)
#   DB_USER     role to create (default kong)
#   DB_NAME database to create (default kong)
#   PG_MAX_CONNECTIONS (default 300)
#
# Usage: db.sh init|start|stop|restart|status|sql
#   sql: run the SQL on stdin in DB_NAME as the postgres superuser (peer
#        authentication over the local socket: no password anywhere)
set -eu

PG_DATA=${PG_DATA:-/var/lib/postgresql/kong}
PG_LISTEN=${PG_LISTEN:-*}
PG_PORT=${PG_PORT:-5432}
PG_ALLOW=${PG_ALLOW:-198.18.0.0/15}
PG_LOG=${PG_LOG:-$(dirname "$PG_DATA")/postgresql-kong.log}
PG_SOCKET_DIR=${PG_SOCKET_DIR:-/run/postgresql}
DB_USER=${DB_USER:-kong}
DB_NAME=${DB_NAME:-kong}
PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-300}

pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	done
	echo "db.sh: no PostgreSQL server binaries under /usr/lib/postgresql" >&2
	return 1
}
BIN=$(pgbin)

as_pg() { runuser -u postgres -- "$@"; }

prepare_dirs() {
	install -d -o postgres -g postgres -m 2775 "$PG_SOCKET_DIR"
	install -d -o postgres -g postgres -m 0700 "$PG_DATA"
	touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
}

running() { as_pg "$BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

start() {
	prepare_dirs
	if running; then return 0; fi
	as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null
}

stop() {
	if ! running; then return 0; fi
	as_pg "$BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
}

# restart: a real server restart (pg_ctl restart, fast shutdown): every
# session is cut, the server comes back at once.
restart() {
	prepare_dirs
	as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -m fast -w -t 60 restart >/dev/null
}

init() {
	IFS= read -r password || true
	if [ -z "${password:-}" ]; then
		echo "db.sh: the kong role's password must be given on stdin" >&2
		exit 2
	fi
	case $password in *"'"*) echo "db.sh: password must not contain a quote" >&2; exit 2;; esac
	prepare_dirs
	if [ ! -f "$PG_DATA/PG_VERSION" ]; then
		as_pg "$BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer \
			--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$PG_DATA/postgresql.conf" <<CONF
# kongctl lab
listen_addresses = '$PG_LISTEN'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = $PG_MAX_CONNECTIONS
password_encryption = 'scram-sha-256'
fsync = on
CONF
		cat >>"$PG_DATA/pg_hba.conf" <<HBA
# kongctl lab: Kong nodes and the tools host, password only
host all all $PG_ALLOW scram-sha-256
HBA
	fi
	start
	as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE "$DB_USER" LOGIN'
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
-- CREATEDB: kongctl proves each backup restores by restoring it into a
-- scratch database (dropped afterwards) before anything is stopped.
ALTER ROLE "$DB_USER" LOGIN CREATEDB PASSWORD '$password';
SELECT 'CREATE DATABASE "$DB_NAME" OWNER "$DB_USER"'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
}

sql() {
	as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d "$DB_NAME"
}

case ${1:-} in
init) init ;;
sql) sql ;;
start) start ;;
stop) stop ;;
restart) restart ;;
status) if running; then echo running; else echo stopped; exit 3; fi ;;
*) echo "usage: db.sh init|start|stop|restart|status|sql" >&2; exit 2 ;;
esac
