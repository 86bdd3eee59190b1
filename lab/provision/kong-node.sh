#!/bin/sh
# Provision a Kong node: install the package, write /etc/kong/kong.conf, bootstrap
# the database, start Kong. Runs as root on the node (a lab namespace or a Vagrant VM).
#
# The database password is read from stdin (first line) by `configure`; it lands in
# /etc/kong/kong.conf (mode 0640, group kong), as on real nodes, and never on argv.
# With SERVICE_ENV_FILE set (ENVCONF labs) the database settings go to that file
# instead (KONG_PG_*=value lines, mode 0600), which this script reads before
# `kong start` and `bootstrap` as a service's EnvironmentFile= is read; kong.conf
# then names the decoy database (DECOY_USER, DECOY_NAME; its password on stdin's
# second line), which `bootstrap-decoy` bootstraps from kong.conf alone.
#
# Environment (never KONG_*: Kong reads KONG_<KEY> as configuration overrides):
#   PKG_FILE           path of the .deb (or .rpm) to install          (install)
#   NODE_ROLE          traditional | control_plane | data_plane       (configure)
#   DB_HOST, DB_PORT, DB_USER, DB_NAME                                (configure)
#   CP_ADDRESS         host:port of the control plane                 (data_plane)
#   CLUSTER_CERT, CLUSTER_CERT_KEY   hybrid mTLS pair (control_plane, data_plane)
#   KEYRING_PUBLIC_KEY, KEYRING_PRIVATE_KEY   Enterprise keyring pair (keyring_enabled = on)
#   CONF_FILE          default /etc/kong/kong.conf
#   SERVICE_ENV_FILE, DECOY_USER, DECOY_NAME   ENVCONF labs (see above)
#   START_TIMEOUT      seconds to wait for `kong health` (default 30)
#
# Usage: kong-node.sh install|configure|bootstrap|bootstrap-decoy|start|stop|health|all
#   all = install, configure (password on stdin), start
set -eu

CONF_FILE=${CONF_FILE:-/etc/kong/kong.conf}
NODE_ROLE=${NODE_ROLE:-traditional}
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

install_pkg() {
	: "${PKG_FILE:?PKG_FILE must name the package file}"
	case $PKG_FILE in
	*.deb) DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$PKG_FILE" >/dev/null ;;
	*.rpm) rpm -U --replacepkgs "$PKG_FILE" >/dev/null ;;
	*) echo "kong-node.sh: unknown package type: $PKG_FILE" >&2; exit 2 ;;
	esac
}

configure() {
	password=
	if [ "$NODE_ROLE" != data_plane ]; then
		IFS= read -r password || true
		if [ -z "$password" ]; then
			echo "kong-node.sh: the database password must be given on stdin" >&2
			exit 2
		fi
	fi
	mkdir -p "$(dirname "$CONF_FILE")"
	if [ -n "${SERVICE_ENV_FILE:-}" ]; then
		IFS= read -r decoy_password || true
		if [ -z "$decoy_password" ]; then
			echo "kong-node.sh: the decoy database's password must be given on stdin (second line)" >&2
			exit 2
		fi
		umask 077
		{
			echo "# written by kongctl lab provisioning: the Kong service's environment"
			echo "KONG_PG_HOST=${DB_HOST:-127.0.0.1}"
			echo "KONG_PG_PORT=${DB_PORT:-5432}"
			echo "KONG_PG_USER=${DB_USER:-kong}"
			echo "KONG_PG_DATABASE=${DB_NAME:-kong}"
			echo "KONG_PG_PASSWORD=$password"
		} >"$SERVICE_ENV_FILE.tmp.$$"
		mv "$SERVICE_ENV_FILE.tmp.$$" "$SERVICE_ENV_FILE"
		systemd_drop_in
		DB_USER=${DECOY_USER:?DECOY_USER must be set}
		DB_NAME=${DECOY_NAME:?DECOY_NAME must be set}
		password=$decoy_password
	fi
	umask 027
	tmp=$CONF_FILE.tmp.$$
	{
		echo "# written by kongctl lab provisioning (lab/provision/kong-node.sh)"
		echo "prefix = /usr/local/kong/"
		echo "proxy_listen = 0.0.0.0:8000"
		echo "status_listen = 0.0.0.0:8007"
		case $NODE_ROLE in
		data_plane)
			echo "role = data_plane"
			echo "database = off"
			echo "admin_listen = off"
			echo "cluster_control_plane = ${CP_ADDRESS:?CP_ADDRESS must be set}"
			;;
		*)
			if [ "$NODE_ROLE" = control_plane ]; then
				echo "role = control_plane"
				echo "cluster_listen = 0.0.0.0:8005"
			fi
			echo "admin_listen = 0.0.0.0:8001"
			echo "database = postgres"
			echo "pg_host = ${DB_HOST:-127.0.0.1}"
			echo "pg_port = ${DB_PORT:-5432}"
			echo "pg_user = ${DB_USER:-kong}"
			echo "pg_database = ${DB_NAME:-kong}"
			echo "pg_password = $password"
			;;
		esac
		if [ -n "${ENFORCE_RBAC:-}" ]; then
			echo "enforce_rbac = $ENFORCE_RBAC"
		fi
		if [ -n "${KEYRING_PRIVATE_KEY:-}" ]; then
			echo "keyring_enabled = on"
			echo "keyring_strategy = cluster"
			echo "keyring_public_key = ${KEYRING_PUBLIC_KEY:?KEYRING_PUBLIC_KEY must be set}"
			echo "keyring_private_key = $KEYRING_PRIVATE_KEY"
		fi
		if [ -n "${CLUSTER_CERT:-}" ]; then
			echo "cluster_cert = $CLUSTER_CERT"
			echo "cluster_cert_key = ${CLUSTER_CERT_KEY:?CLUSTER_CERT_KEY must be set}"
		fi
	} >"$tmp"
	if getent group kong >/dev/null; then chgrp kong "$tmp"; fi
	chmod 0640 "$tmp"
	mv "$tmp" "$CONF_FILE"
}

# systemd_drop_in: on a systemd host (the Vagrant VMs), a drop-in for Kong's
# unit gives the service the same settings: Environment= for the host, port,
# user and database, and the environment file as EnvironmentFile= (which
# wins over Environment=, systemd.exec(5)) for the password.
systemd_drop_in() {
	[ -d /run/systemd/system ] || return 0
	for unit in kong-enterprise-edition.service kong.service; do
		[ -f "/lib/systemd/system/$unit" ] || [ -f "/usr/lib/systemd/system/$unit" ] || continue
		mkdir -p "/etc/systemd/system/$unit.d"
		{
			echo "# written by kongctl lab provisioning: the Kong service's database settings"
			echo "[Service]"
			echo "Environment=KONG_PG_HOST=${DB_HOST:-127.0.0.1} KONG_PG_PORT=${DB_PORT:-5432} KONG_PG_USER=${DB_USER:-kong} KONG_PG_DATABASE=${DB_NAME:-kong}"
			echo "EnvironmentFile=$SERVICE_ENV_FILE"
		} >"/etc/systemd/system/$unit.d/kongctl-lab-env.conf"
		systemctl daemon-reload
		return 0
	done
}

# load_service_env exports the KONG_* lines of SERVICE_ENV_FILE, as systemd
# does for an EnvironmentFile= (a missing file fails, as the unit would).
load_service_env() {
	[ -n "${SERVICE_ENV_FILE:-}" ] || return 0
	if [ ! -r "$SERVICE_ENV_FILE" ]; then
		echo "kong-node.sh: the service environment file $SERVICE_ENV_FILE is missing" >&2
		exit 1
	fi
	while IFS= read -r line; do
		case $line in
		KONG_*=*) export "${line%%=*}=${line#*=}" ;;
		esac
	done <"$SERVICE_ENV_FILE"
}

bootstrap() {
	load_service_env
	# An RBAC lab: the super admin's password (its Admin API token) on stdin,
	# handed to Kong's bootstrap as KONG_PASSWORD (kong-reference 9.1).
	if [ "${ADMIN_TOKEN_STDIN:-}" = 1 ]; then
		IFS= read -r KONG_PASSWORD
		export KONG_PASSWORD
	fi
	kong migrations bootstrap -c "$CONF_FILE"
}

# bootstrap_decoy bootstraps the database kong.conf names, without the
# service's environment (ENVCONF labs' decoy).
bootstrap_decoy() {
	kong migrations bootstrap -c "$CONF_FILE" >/dev/null
}

health_wait() {
	n=$(( ${START_TIMEOUT:-30} * 5 ))
	while [ "$n" -gt 0 ]; do
		if kong health >/dev/null 2>&1; then return 0; fi
		n=$((n - 1))
		sleep 0.2
	done
	kong health
}

start() {
	if kong health >/dev/null 2>&1; then return 0; fi
	load_service_env
	# The daemon must not hold our stdout/stderr (the caller waits for EOF).
	if ! kong start -c "$CONF_FILE" </dev/null >/tmp/kong-start.log 2>&1; then
		cat /tmp/kong-start.log >&2
		exit 1
	fi
	health_wait
}

stop() {
	if kong health >/dev/null 2>&1; then kong stop >/dev/null; fi
}

case ${1:-} in
install) install_pkg ;;
configure) configure ;;
bootstrap) bootstrap ;;
bootstrap-decoy) bootstrap_decoy ;;
start) start ;;
stop) stop ;;
health) kong health ;;
all) install_pkg; configure; start ;;
*) echo "usage: kong-node.sh install|configure|bootstrap|bootstrap-decoy|start|stop|health|all" >&2; exit 2 ;;
esac
