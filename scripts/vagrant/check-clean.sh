#!/bin/bash
# Fail (exit 1) when anything of ours is left in libvirt: domains, networks or
# volumes whose name starts with the prefix (default "kongctl", which covers
# the VMs kongctl-v*, the networks kongctl-v*, their disks and the uploaded box
# volume kongctl-VAGRANTSLASH-*). Prints what it found.
set -uo pipefail
prefix=${1:-kongctl}
left=0
report() { # what, list
	if [ -n "$2" ]; then echo "check-clean: $1 left behind: $(echo $2)" >&2; left=1; fi
}
report domain "$(virsh list --all --name 2>/dev/null | grep -i "^$prefix" || true)"
report network "$(virsh net-list --all --name 2>/dev/null | grep -i "^$prefix" || true)"
if virsh pool-info default >/dev/null 2>&1; then
	report volume "$(virsh vol-list default 2>/dev/null | awk 'NR>2 {print $1}' | grep -i "^$prefix" || true)"
fi
report pool "$(virsh pool-list --all --name 2>/dev/null | grep -i "^$prefix" || true)"
report bridge "$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -i "^$prefix" || true)"
[ "$left" = 0 ] && echo "check-clean: no domain, network, volume or pool named $prefix* is left" >&2
exit $left
