#!/bin/bash
# Prepare this machine for vagrant-libvirt (Debian, root): install what is
# missing, start libvirtd when none runs, and apply the /dev/kvm fix from
# shared/docs/vagrant-notes.md. Idempotent; quick when all is in place.
set -euo pipefail
log() { echo "setup-host: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

need=()
command -v vagrant >/dev/null || need+=(vagrant)
dpkg-query -W -f='${Status}' vagrant-libvirt 2>/dev/null | grep -q 'ok installed' || need+=(vagrant-libvirt)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v ssh >/dev/null || need+=(openssh-client)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
	}
fi

# /dev/kvm: libvirt probes QEMU with KVM when /dev/kvm exists, then finds that
# libvirt-qemu (group kvm) cannot use it, throws its capability cache away and
# probes again on every call (4-VM up: 593 s instead of 98 s). The usual Debian
# state, 0660 root:kvm, fixes it. Without /dev/kvm the probe never sees KVM, the
# cache stays valid, and nothing needs fixing: guests run under TCG either way
# (domain type "qemu", set by the box).
if [ -e /dev/kvm ]; then
	getent group kvm >/dev/null || groupadd -r kvm
	chgrp kvm /dev/kvm && chmod 660 /dev/kvm
	log "/dev/kvm set to 0660 root:kvm"
else
	log "no /dev/kvm: QEMU software emulation (TCG); no kvm fix needed"
fi

if ! pgrep -x libvirtd >/dev/null; then
	if [ -d /run/systemd/system ]; then
		systemctl start virtlogd libvirtd
	else
		pgrep -x virtlogd >/dev/null || virtlogd -d
		libvirtd -d
	fi
	log "libvirtd started"
fi
for _ in $(seq 50); do [ -S /var/run/libvirt/libvirt-sock ] && break; sleep 0.2; done
virsh -q uri >/dev/null

# The capability cache must hold: a second call is instant when it does.
virsh domcapabilities >/dev/null 2>&1 || true
t0=$(date +%s%N)
virsh domcapabilities >/dev/null 2>&1 || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms" -gt 1000 ]; then
	log "warning: virsh domcapabilities took ${ms} ms (libvirt re-probes QEMU; see vagrant-notes.md)"
fi
