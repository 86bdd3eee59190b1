#!/bin/bash
# Second provisioning stage of the Vagrant VMs, run on the host after
# `vagrant up` (which copied lab/provision/*.sh and installed the packages):
# the same lab/provision scripts the lab runs, over plain ssh, with the
# database password on stdin (never on a command line, never in a file on a VM
# other than kong.conf):
#   db:     db.sh init         PostgreSQL cluster, `kong` role and database
#   kongN:  kong-node.sh configure   /etc/kong/kong.conf pointed at db
#   kong1:  kong-node.sh bootstrap   once
#   kongN:  systemctl enable --now kong (Kong under systemd), kong1 first,
#           then seed.sh (services and routes) through kong1's Admin API
# and waits until every node's proxy routes /lab. Idempotent.
#
# Environment: KONGCTL_NET, KONGCTL_KONG_NODES, KONGCTL_EDITION (as the
# Vagrantfile), KONGCTL_VAGRANT_WORK (default build/vagrant: ssh_config,
# pg_password), VAGRANT_* as for vagrant itself. KONGCTL_ENVCONF=1: the
# database settings only in the service's environment (/etc/kong/kong_env.conf
# as the unit's EnvironmentFile= through a drop-in), kong.conf on a decoy
# database (kong_decoy, its password in decoy_pg_password), as ENVCONF=1 labs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${KONGCTL_VAGRANT_WORK:-$root/build/vagrant}
NET=${KONGCTL_NET:-198.19.10}
NODES=${KONGCTL_KONG_NODES:-3}
UNIT=kong.service
[ "${KONGCTL_EDITION:-oss}" = enterprise ] && UNIT=kong-enterprise-edition.service
PROV=/home/vagrant/kongctl-provision
log() { echo "provision: $*" >&2; }

mkdir -p "$work"
(cd "$root" && vagrant ssh-config) >"$work/ssh_config.tmp" && mv "$work/ssh_config.tmp" "$work/ssh_config"
for f in pg_password decoy_pg_password; do
	if [ ! -s "$work/$f" ]; then
		(umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$work/$f")
	fi
done
ENVCONF=
if [ "${KONGCTL_ENVCONF:-}" = 1 ]; then
	ENVCONF="SERVICE_ENV_FILE=/etc/kong/kong_env.conf DECOY_USER=kong_decoy DECOY_NAME=kong_decoy"
fi
S() {
	local host=$1; shift
	ssh -F "$work/ssh_config" -o BatchMode=yes -o ControlMaster=auto \
		-o ControlPath="$work/cm-%n" -o ControlPersist=300 "$host" "$@"
}
kongs=()
for i in $(seq 1 "$NODES"); do kongs+=("kong$i"); done

# Runs a command on every Kong VM at once; fails if any fails.
each() {
	local pids=() rc=0 h
	for h in "${kongs[@]}"; do "$@" "$h" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

wait_health() { # host
	S "$1" sudo sh -s <<'SH'
for i in $(seq 180); do
	if /usr/local/bin/kong health >/dev/null 2>&1; then exit 0; fi
	sleep 1
done
/usr/local/bin/kong health
SH
}

log "db: PostgreSQL, role and database"
S db "sudo env PG_ALLOW=$NET.0/24 sh $PROV/db.sh init" <"$work/pg_password"
if [ -n "$ENVCONF" ]; then
	log "db: the decoy role and database"
	S db "sudo env PG_ALLOW=$NET.0/24 DB_USER=kong_decoy DB_NAME=kong_decoy sh $PROV/db.sh init" <"$work/decoy_pg_password"
fi

configure() { cat "$work/pg_password" "$work/decoy_pg_password" | S "$1" "sudo env DB_HOST=$NET.10 $ENVCONF sh $PROV/kong-node.sh configure"; }
log "kong: kong.conf on ${kongs[*]}"
each configure

log "kong1: kong migrations bootstrap"
S kong1 "sudo env $ENVCONF sh $PROV/kong-node.sh bootstrap" | tail -n 2 >&2
if [ -n "$ENVCONF" ]; then
	S kong1 "sudo env $ENVCONF sh $PROV/kong-node.sh bootstrap-decoy"
fi

start() { S "$1" "sudo systemctl enable --now --quiet $UNIT" && wait_health "$1" >/dev/null; }
log "kong1: systemctl enable --now $UNIT, then seed"
start kong1
S kong1 "sh $PROV/seed.sh"
if [ "$NODES" -gt 1 ]; then
	log "kong: systemctl enable --now $UNIT on the others"
	kongs_all=("${kongs[@]}"); kongs=("${kongs_all[@]:1}")
	each start
	kongs=("${kongs_all[@]}")
fi

log "waiting until every proxy routes /lab"
for i in $(seq 1 "$NODES"); do
	url="http://$NET.$((10 + i)):8000/lab"
	ok=
	for _ in $(seq 120); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")" = 200 ]; then ok=1; break; fi
		sleep 1
	done
	[ -n "$ok" ] || { log "kong$i: $url does not answer 200"; exit 1; }
done
log "done: db and ${kongs[*]} on $NET.0/24"
