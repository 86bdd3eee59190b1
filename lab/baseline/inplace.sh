#!/usr/bin/env bash
# The baseline of the outage benchmark (issue 15): Kong's in-place upgrade
# as an operator's plain playbook runs it, with the guide's commands over
# SSH, every node at once, no checks beyond exit codes.
#
#   before the window: stage Y's package on every node (scp), pg_dump on the
#                      database host
#   the window:        `kong stop` on all nodes at once -> `dpkg -i` (`rpm -U`
#                      for a .rpm) of the staged file on all at once ->
#                      `kong migrations up`, then `kong migrations finish`,
#                      on the first node -> `kong start` on all at once
#
# SSH connections are opened while staging and reused (ControlMaster, as
# Ansible's ControlPersist does), so the window pays no handshakes.
#
# usage: inplace.sh -i KEY -k KNOWN_HOSTS [-u USER] -d DB_ADDRESS
#                   [-P DB_PORT] [-n DB_NAME] -p PACKAGE [-c KONG_CONF]
#                   NODE_ADDRESS...
#   The first node runs the migrations. A USER other than root runs the
#   commands with sudo. The database dump is taken on the database host as
#   its postgres user (peer authentication: no password anywhere).
#
# stdout: one line per step, "<step> <seconds>"; progress on stderr.
# Exit code: 0, or that of the first failed step (the script stops there).
set -euo pipefail

key= known= user=root db= dbport=5432 dbname=kong pkg= conf=/etc/kong/kong.conf
while getopts 'i:k:u:d:P:n:p:c:' opt; do
	case $opt in
	i) key=$OPTARG ;;
	k) known=$OPTARG ;;
	u) user=$OPTARG ;;
	d) db=$OPTARG ;;
	P) dbport=$OPTARG ;;
	n) dbname=$OPTARG ;;
	p) pkg=$OPTARG ;;
	c) conf=$OPTARG ;;
	*) echo "usage: inplace.sh -i KEY -k KNOWN_HOSTS [-u USER] -d DB [-P PORT] [-n NAME] -p PACKAGE [-c CONF] NODE..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
nodes=("$@")
if [ -z "$key" ] || [ -z "$known" ] || [ -z "$db" ] || [ -z "$pkg" ] || [ ${#nodes[@]} -eq 0 ]; then
	echo "inplace.sh: -i, -k, -d, -p and at least one node are required" >&2
	exit 2
fi
[ -r "$pkg" ] || { echo "inplace.sh: package $pkg: not readable" >&2; exit 2; }

ctl=$(mktemp -d)
ssh_opts=(-i "$key" -o IdentitiesOnly=yes -o UserKnownHostsFile="$known" -o GlobalKnownHostsFile=/dev/null
	-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR
	-o ControlMaster=auto -o ControlPath="$ctl/%h" -o ControlPersist=120)
cleanup() {
	for h in "${nodes[@]}" "$db"; do
		ssh "${ssh_opts[@]}" -O exit "$user@$h" 2>/dev/null || true
	done
	rm -rf "$ctl"
}
trap cleanup EXIT

sudo=
if [ "$user" != root ]; then sudo="sudo -n "; fi
staged=/tmp/$(basename "$pkg")
case $pkg in
*.deb) install="${sudo}env DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold $staged" ;;
*.rpm) install="${sudo}rpm -U $staged" ;;
*) echo "inplace.sh: $pkg: neither a .deb nor a .rpm" >&2; exit 2 ;;
esac

on() { # host command
	ssh -n "${ssh_opts[@]}" "$user@$1" -- "$2"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# all STEP COMMAND: COMMAND on every node at once; fails when any node fails.
all() {
	local step=$1 cmd=$2 t0 pids=() rc=0 i
	t0=$(now)
	for h in "${nodes[@]}"; do
		on "$h" "$cmd" >&2 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			echo "inplace.sh: host ${nodes[$i]}: $step failed" >&2
			rc=1
		fi
	done
	[ $rc -eq 0 ] || exit 1
	echo "$step $(since "$t0")"
}

# once STEP HOST COMMAND
once() {
	local t0
	t0=$(now)
	on "$2" "$3" >&2 || { echo "inplace.sh: host $2: $1 failed" >&2; exit 1; }
	echo "$1 $(since "$t0")"
}

# Before the window.
t0=$(now)
pids=()
for h in "${nodes[@]}"; do
	scp -q "${ssh_opts[@]}" "$pkg" "$user@$h:$staged" &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { echo "inplace.sh: host ${nodes[$i]}: stage $pkg failed" >&2; exit 1; }
done
echo "stage $(since "$t0")"
dump=/var/backups/kong/kong-pre-upgrade-$(date -u +%Y%m%dT%H%M%SZ).dump
once backup "$db" "${sudo}install -d -o postgres -m 0700 /var/backups/kong && ${sudo}runuser -u postgres -- pg_dump -Fc -h /run/postgresql -p $dbport -d $dbname -f $dump"

# The window.
echo "inplace.sh: window: stop, install, migrations on ${nodes[0]}, start" >&2
w0=$(now)
all stop "${sudo}kong stop"
all install "$install"
once migrations-up "${nodes[0]}" "${sudo}kong migrations up -c $conf"
once migrations-finish "${nodes[0]}" "${sudo}kong migrations finish -c $conf"
all start "${sudo}kong start -c $conf"
echo "window $(since "$w0")"
