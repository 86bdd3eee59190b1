#!/bin/bash
# Remove everything a Vagrant rehearsal leaves in libvirt, also after a crash
# (a killed `vagrant up` can leave domains Vagrant no longer knows about):
#   1. `vagrant destroy -f` for the machines Vagrant knows (best effort);
#   2. every libvirt domain, network and default-pool volume whose name starts
#      with kongctl-v (our VMs, their disks, networks) or kongctl-VAGRANTSLASH-
#      (the box uploaded to the pool), removed with virsh;
#   3. Vagrant's machine state in $VAGRANT_DOTFILE_PATH.
# Then check-clean.sh must find nothing. Needs libvirtd running. Quiet when
# there is nothing to do.
#
# Environment: VAGRANT_DOTFILE_PATH (default build/vagrant/dot), KONGCTL_BOX
# (default: build-box.sh --print-name), KONGCTL_LIBVIRT_PREFIX (kongctl-v).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export VAGRANT_DOTFILE_PATH=${VAGRANT_DOTFILE_PATH:-$root/build/vagrant/dot}
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_NO_COLOR=1
export KONGCTL_BOX=${KONGCTL_BOX:-$(bash scripts/vagrant/build-box.sh --print-name)}
export KONGCTL_KONG_SOURCE=repository # no .deb needed to destroy
prefix=${KONGCTL_LIBVIRT_PREFIX:-kongctl-v}
log() { echo "vagrant-clean: $*" >&2; }

domains() { virsh list --all --name 2>/dev/null | grep "^$prefix" || true; }
networks() { virsh net-list --all --name 2>/dev/null | grep "^$prefix" || true; }
volumes() { virsh vol-list default 2>/dev/null | awk 'NR>2 {print $1}' | grep -e "^$prefix" -e '^kongctl-VAGRANTSLASH-' || true; }

if [ -d "$VAGRANT_DOTFILE_PATH/machines" ] && [ -n "$(ls -A "$VAGRANT_DOTFILE_PATH/machines" 2>/dev/null)" ] || [ -n "$(domains)" ]; then
	log "vagrant destroy -f"
	# All the Kong VMs a run may have had (the count does not change the names of the others).
	KONGCTL_KONG_NODES=${KONGCTL_KONG_NODES:-3} timeout 600 vagrant destroy -f 2>&1 | grep -v Progress >&2
fi
for d in $(domains); do
	log "domain $d (not known to Vagrant): destroy, undefine"
	virsh destroy "$d" >/dev/null 2>&1
	virsh undefine --remove-all-storage "$d" >/dev/null 2>&1 || virsh undefine "$d" >/dev/null 2>&1
done
for n in $(networks); do
	log "network $n: destroy, undefine"
	virsh net-destroy "$n" >/dev/null 2>&1
	virsh net-undefine "$n" >/dev/null 2>&1
done
for v in $(volumes); do
	virsh vol-delete --pool default "$v" >/dev/null 2>&1 && log "volume $v deleted"
done
rm -rf "$VAGRANT_DOTFILE_PATH/machines"
exec bash scripts/vagrant/check-clean.sh kongctl
