#!/bin/bash
# make vagrant-rehearsal: the kongctl upgrade on real Vagrant VMs
# (vagrant-libvirt, software-emulated), cleaned up after, also on failure.
#
#   1. set-up: packages, libvirtd, /dev/kvm (setup-host.sh)
#   2. the offline box, built once and cached (build-box.sh)
#   3. vagrant up: db + kong1..N on FROM (Vagrant's provisioners copy the
#      scripts and the .deb in and install it)
#   4. provision.sh: database, kong.conf, bootstrap, Kong under systemd, seed
#   5. kongctl inventory vagrant -> build/vagrant/hosts.hcl
#   6. kongctl upgrade -i build/vagrant/hosts.hcl --yes  (FROM -> TO, systemd)
#   7. checks on every Kong VM: package and `kong version` = TO, `kong
#      migrations list` exits 0, the unit is active, /lab served through the proxy
#   8. clean.sh: vagrant destroy -f, then whatever Vagrant missed (domains,
#      networks, volumes named kongctl-v*, the box volume) removed with virsh,
#      and check-clean.sh: nothing of ours left (the EXIT trap does 8 on any
#      failure too; clean.sh also runs before step 3 for a crashed earlier run)
# Timings go to stdout and build/vagrant/times.txt.
#
# Environment: FROM (2.8.4), TO (3.4.2), KONGCTL_KONG_NODES (3), KONGCTL_NET
# (198.19.10), KEEP=1 keeps the VMs (no destroy) for debugging.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
FROM=${FROM:-2.8.4}
TO=${TO:-3.4.2}
export KONGCTL_KONG_NODES=${KONGCTL_KONG_NODES:-3}
export KONGCTL_NET=${KONGCTL_NET:-198.19.10}
export KONGCTL_KONG_VERSION=$FROM KONGCTL_KONG_SOURCE=file
export KONGCTL_PACKAGES_DIR=$root/build/packages
export KONGCTL_VAGRANT_WORK=$root/build/vagrant
export VAGRANT_DOTFILE_PATH=$root/build/vagrant/dot
export VAGRANT_DEFAULT_PROVIDER=libvirt
export VAGRANT_NO_COLOR=1
work=$KONGCTL_VAGRANT_WORK
mkdir -p "$work"
# Run journals and backups of earlier runs belong to VMs that no longer exist.
rm -rf "$work/times.txt" "$work/ssh_config" "$work/hosts.hcl" "$work"/cm-* "$work/.kongctl" "$work/backups" "$work"/upgrade*
log() { echo "vagrant-rehearsal: $*" >&2; }
times=()
t_last=$(date +%s)
t_start=$t_last
lap() { local now; now=$(date +%s); times+=("$(printf '%-10s %4ds' "$1" $((now - t_last)))"); t_last=$now; }

bash scripts/vagrant/setup-host.sh
lap setup

export KONGCTL_BOX
KONGCTL_BOX=$(bash scripts/vagrant/build-box.sh)
lap box
# Boxes of older versions of build-box.sh are never used again: free their space.
cache=${KONGCTL_BOX_CACHE:-/var/cache/kongctl-vagrant}
for b in $(vagrant box list 2>/dev/null | awk '$1 ~ /^kongctl\/bookworm-/ {print $1}'); do
	[ "$b" = "$KONGCTL_BOX" ] && continue
	h=${b#kongctl/bookworm-}
	log "removing the old box $b"
	vagrant box remove --force --all "$b" >/dev/null 2>&1 || true
	rm -rf "${cache:?}/$h" /var/lib/libvirt/boot/kongctl-"$h"-*
done
# Leftovers of an earlier run that crashed or was killed: away with them first.
bash scripts/vagrant/clean.sh
lap preclean
pool_existed=0
virsh pool-info default >/dev/null 2>&1 && pool_existed=1
export KONGCTL_SERIAL_DIR=$work/serial
mkdir -p "$KONGCTL_SERIAL_DIR" && chmod 777 "$KONGCTL_SERIAL_DIR"

destroyed=0
teardown() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${KEEP:-0}" = 1 ] && [ "$destroyed" = 0 ]; then
		printf '%s\n' "${times[@]}" | tee "$work/times.txt"
		log "KEEP=1: VMs left running (ssh -F $work/ssh_config kong1); remove them with: make vagrant-clean"
		exit $rc
	fi
	for s in "$work"/cm-*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done
	# vagrant destroy -f, then whatever Vagrant missed, then check-clean.sh.
	if ! bash scripts/vagrant/clean.sh; then rc=1; fi
	destroyed=1
	if [ "$pool_existed" = 0 ] && virsh pool-info default >/dev/null 2>&1 && [ -z "$(virsh vol-list default | awk 'NR>2 && $1 != ""')" ]; then
		virsh pool-destroy default >/dev/null 2>&1 || true
		virsh pool-undefine default >/dev/null 2>&1 || true
	fi
	lap destroy
	{
		echo "==== vagrant rehearsal ($FROM -> $TO, $KONGCTL_KONG_NODES Kong VMs) ===="
		printf '%s\n' "${times[@]}"
		printf '%-10s %4ds\n' total $(( $(date +%s) - t_start ))
		if [ $rc -eq 0 ]; then echo "result: OK"; else echo "result: FAILED (exit $rc)"; fi
	} | tee "$work/times.txt"
	exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

log "vagrant up (box $KONGCTL_BOX, $KONGCTL_KONG_NODES Kong VMs on $FROM, network $KONGCTL_NET.0/24)"
stamp() { local l; while IFS= read -r l; do printf '%(%T)T %s\n' -1 "$l"; done; }
set +e
vagrant up 2>&1 | grep --line-buffered -v -e Progress -e '^==> .*: -- ' | stamp >"$work/up.log"
uprc=${PIPESTATUS[0]}
set -e
[ "$uprc" = 0 ] || { tail -n 40 "$work/up.log" >&2; exit 1; }
lap up

bash scripts/vagrant/provision.sh
lap provision

bin/kongctl inventory vagrant --dir . --network "$KONGCTL_NET.0/24" --from "$FROM" --to "$TO" \
	--packages build/packages --db-password-file "$work/pg_password" --out "$work/hosts.hcl"
bin/kongctl inventory check -i "$work/hosts.hcl"
lap inventory

log "bin/kongctl upgrade -i $work/hosts.hcl --yes"
set +e
bin/kongctl upgrade -i "$work/hosts.hcl" --yes 2>&1 | tee "$work/upgrade.log"
urc=${PIPESTATUS[0]}
set -e
lap upgrade
[ "$urc" = 0 ] || { log "kongctl upgrade failed (exit $urc); log: $work/upgrade.log"; exit 1; }

log "checking every Kong VM on $TO"
S() { ssh -F "$work/ssh_config" -o BatchMode=yes -o ControlMaster=auto -o ControlPath="$work/cm-%n" -o ControlPersist=300 "$@"; }
fail=0
for i in $(seq 1 "$KONGCTL_KONG_NODES"); do
	h=kong$i
	out=$(S "$h" sudo sh -s <<SH 2>&1
set -e
v=\$(dpkg-query -W -f='\${Version}' kong kong-enterprise-edition 2>/dev/null | head -n1)
k=\$(/usr/local/bin/kong version)
echo "package=\$v kong=\$k"
[ "\$v" = "$TO" ] && [ "\$k" = "$TO" ]
/usr/local/bin/kong migrations list -c /etc/kong/kong.conf >/dev/null
echo "migrations list: exit 0"
u=kong.service
[ -e /lib/systemd/system/kong-enterprise-edition.service ] && u=kong-enterprise-edition.service
systemctl is-active --quiet \$u
echo "\$u active"
# Kong under systemd, stopped and started by systemd during the upgrade (the
# agent's systemctl stop/start; the package scripts never call systemctl):
# provisioning started it once, so the unit's journal must show a stop and
# then a second start, the last event being a start.
j=\$(journalctl -q -u \$u -o cat --no-pager)
stops=\$(echo "\$j" | grep -c '^Stopping ' || true)
starts=\$(echo "\$j" | grep -c '^Started ' || true)
echo "systemd journal: \$stops stop(s), \$starts start(s)"
[ "\$stops" -ge 1 ] && [ "\$starts" -ge 2 ]
echo "\$j" | grep -e '^Stopped ' -e '^Started ' | tail -n1 | grep -q '^Started '
SH
	) || { fail=1; log "$h: FAILED: $(echo $out)"; continue; }
	ip=$KONGCTL_NET.$((10 + i))
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$ip:8000/lab" || true)
	if [ "$code" != 200 ]; then fail=1; log "$h: GET /lab through the proxy: HTTP $code"; continue; fi
	routes=$(curl -s --max-time 10 "http://$ip:8001/services/echo/routes" | grep -o '"name": *"lab[a-z-]*"' | sort -u | wc -l)
	if [ "$routes" != 3 ]; then fail=1; log "$h: service echo has $routes of its 3 routes"; continue; fi
	log "$h: $(echo $out), /lab 200, service echo with its 3 routes"
done
lap checks
[ "$fail" = 0 ] || exit 1
