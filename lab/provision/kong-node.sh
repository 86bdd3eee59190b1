#!/bin/sh
# Provision a Kong node: install the package, write /etc/kong/kong.conf, bootstrap
# the database, start Kong. Runs as root on the node (a lab namespace or a Vagrant VM).
#
# The database password is read from stdin (first line) by `configure`; it lands in
# /etc/kong/kong.conf (mode 0640, group kong), as on real nodes, and never on argv.
#
# Environment:
#   KONG_PACKAGE          path of the .deb (or .rpm) to install        (install)
#   KONG_ROLE             traditional | control_plane | data_plane     (configure)
#   KONG_PG_HOST, KONG_PG_PORT, KONG_PG_USER, KONG_PG_DATABASE         (configure)
#   KONG_CLUSTER_CONTROL_PLANE   host:port of the CP (data_plane)
#   KONG_CLUSTER_CERT, KONG_CLUSTER_CERT_KEY  hybrid mTLS pair (control_plane, data_plane)
#   KONG_CONF             default /etc/kong/kong.conf
#   KONG_START_TIMEOUT    seconds to wait for `kong health` (default 30)
#
# Usage: kong-node.sh install|configure|bootstrap|start|stop|health|all
#   all = install, configure (password on stdin), start
set -eu

KONG_CONF=${KONG_CONF:-/etc/kong/kong.conf}
KONG_ROLE=${KONG_ROLE:-traditional}
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

install_pkg() {
	: "${KONG_PACKAGE:?KONG_PACKAGE must name the package file}"
	case $KONG_PACKAGE in
	*.deb) DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$KONG_PACKAGE" >/dev/null ;;
	*.rpm) rpm -U --replacepkgs "$KONG_PACKAGE" >/dev/null ;;
	*) echo "kong-node.sh: unknown package type: $KONG_PACKAGE" >&2; exit 2 ;;
	esac
}

configure() {
	password=
	if [ "$KONG_ROLE" != data_plane ]; then
		IFS= read -r password || true
		if [ -z "$password" ]; then
			echo "kong-node.sh: the database password must be given on stdin" >&2
			exit 2
		fi
	fi
	mkdir -p "$(dirname "$KONG_CONF")"
	umask 027
	tmp=$KONG_CONF.tmp.$$
	{
		echo "# written by kongctl lab provisioning (lab/provision/kong-node.sh)"
		echo "prefix = /usr/local/kong/"
		echo "proxy_listen = 0.0.0.0:8000"
		echo "status_listen = 0.0.0.0:8007"
		case $KONG_ROLE in
		data_plane)
			echo "role = data_plane"
			echo "database = off"
			echo "admin_listen = off"
			echo "cluster_control_plane = ${KONG_CLUSTER_CONTROL_PLANE:?KONG_CLUSTER_CONTROL_PLANE must be set}"
			;;
		*)
			if [ "$KONG_ROLE" = control_plane ]; then
				echo "role = control_plane"
				echo "cluster_listen = 0.0.0.0:8005"
			fi
			echo "admin_listen = 0.0.0.0:8001"
			echo "database = postgres"
			echo "pg_host = ${KONG_PG_HOST:-127.0.0.1}"
			echo "pg_port = ${KONG_PG_PORT:-5432}"
			echo "pg_user = ${KONG_PG_USER:-kong}"
			echo "pg_database = ${KONG_PG_DATABASE:-kong}"
			echo "pg_password = $password"
			;;
		esac
		if [ -n "${KONG_CLUSTER_CERT:-}" ]; then
			echo "cluster_cert = $KONG_CLUSTER_CERT"
			echo "cluster_cert_key = ${KONG_CLUSTER_CERT_KEY:?KONG_CLUSTER_CERT_KEY must be set}"
		fi
	} >"$tmp"
	if getent group kong >/dev/null; then chgrp kong "$tmp"; fi
	chmod 0640 "$tmp"
	mv "$tmp" "$KONG_CONF"
}

bootstrap() { kong migrations bootstrap -c "$KONG_CONF"; }

health_wait() {
	n=$(( ${KONG_START_TIMEOUT:-30} * 5 ))
	while [ "$n" -gt 0 ]; do
		if kong health >/dev/null 2>&1; then return 0; fi
		n=$((n - 1))
		sleep 0.2
	done
	kong health
}

start() {
	if kong health >/dev/null 2>&1; then return 0; fi
	# The daemon must not hold our stdout/stderr (the caller waits for EOF).
	if ! kong start -c "$KONG_CONF" </dev/null >/tmp/kong-start.log 2>&1; then
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
start) start ;;
stop) stop ;;
health) kong health ;;
all) install_pkg; configure; start ;;
*) echo "usage: kong-node.sh install|configure|bootstrap|start|stop|health|all" >&2; exit 2 ;;
esac
