#!/bin/bash
# Build (or reuse) the offline Vagrant box for vagrant-libvirt: Debian 12
# (bookworm) from debootstrap, with OpenSSH, sudo, dbus, curl, rsync and
# PostgreSQL 15 inside, because the VMs have no outbound network. No bootloader:
# a bare ext4 image booted with direct kernel boot (the kernel and initrd are
# copied to /var/lib/libvirt/boot, and the box's own Vagrantfile points at them).
# Recipe and timings: shared/docs/vagrant-notes.md.
#
# The box is cached under $CACHE/<hash>/ and named kongctl/bookworm-<hash>,
# where <hash> is the sha256 of this script: editing the script builds a new
# box, anything else reuses it.
#
# Usage: build-box.sh [--print-name]
#   --print-name   print the box name for the current script and exit
# Environment:
#   KONGCTL_BOX_CACHE  cache directory (default /var/cache/kongctl-vagrant)
#   MIRROR             Debian mirror (default: apt's bookworm main source, see
#                      mirror.sh; none: the build stops and says how to set one)
# Prints the box name on stdout; progress goes to stderr.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
hash=$(sha256sum "$self" | cut -c1-12)
box_name="kongctl/bookworm-$hash"
if [ "${1:-}" = --print-name ]; then echo "$box_name"; exit 0; fi

CACHE=${KONGCTL_BOX_CACHE:-/var/cache/kongctl-vagrant}
out="$CACHE/$hash"
boot=/var/lib/libvirt/boot
kernel="$boot/kongctl-$hash-vmlinuz"
initrd="$boot/kongctl-$hash-initrd.img"
log() { echo "build-box: $*" >&2; }

box_added() { vagrant box list 2>/dev/null | grep -q "^$box_name "; }

if [ -f "$out/box.box" ] && [ -f "$kernel" ] && [ -f "$initrd" ]; then
	if ! box_added; then
		log "adding the cached box $out/box.box as $box_name"
		vagrant box add --force --name "$box_name" "$out/box.box" 2>&1 | grep -v Progress >&2
	fi
	log "box $box_name ready (cached in $out)"
	echo "$box_name"
	exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap, chroot)"; exit 1; }
for t in debootstrap mkfs.ext4 qemu-img vagrant; do
	command -v "$t" >/dev/null || { log "missing $t (run scripts/vagrant/setup-host.sh)"; exit 1; }
done

# The mirror: MIRROR=, else apt's own; none: stop and say how to set one.
MIRROR=$(bash "$(dirname "$self")/mirror.sh") || exit 1
insecure_pub=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n1 || true)
[ -n "$insecure_pub" ] || { log "cannot find Vagrant's insecure public key"; exit 1; }

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/build.$hash.XXXXXX")
root="$work/rootfs"
cleanup() {
	for m in dev/pts dev sys proc; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
log "debootstrap bookworm from $MIRROR into $root"
debootstrap --variant=minbase \
	--include=systemd-sysv,openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,linux-image-amd64,udev,kmod,initramfs-tools,netbase \
	bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
log "debootstrap done after $(( $(date +%s) - start ))s"

mount --bind /proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }

# No service starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

in_root apt-get -q update >/dev/null
in_root apt-get -q install -y --no-install-recommends \
	rsync ca-certificates dbus libnss-myhostname curl procps less postgresql-common >/dev/null
# PostgreSQL binaries only: the database VM's cluster is made by lab/provision/db.sh.
sed -i 's/^#* *create_main_cluster.*/create_main_cluster = false/' "$root/etc/postgresql-common/createcluster.conf"
in_root apt-get -q install -y --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
in_root systemctl disable postgresql.service >/dev/null 2>&1 || true
log "packages installed after $(( $(date +%s) - start ))s"

# The vagrant user: passwordless sudo, Vagrant's insecure key (isolated networks only).
in_root useradd --create-home --shell /bin/bash vagrant
in_root usermod -p '*' vagrant
printf 'vagrant ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
install -d -m 700 "$root/home/vagrant/.ssh"
install -m 600 "$insecure_pub" "$root/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh

# sshd: no DNS; every VM makes its own host key at first boot: ed25519 only
# (an RSA key costs seconds of emulated CPU, and kongctl pins the ed25519 key).
printf 'UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n' >"$root/etc/ssh/sshd_config.d/kongctl.conf"
rm -f "$root"/etc/ssh/ssh_host_*
cat >"$root/etc/systemd/system/kongctl-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this VM's SSH host key
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
UNIT
in_root systemctl enable kongctl-hostkeys.service ssh.service >/dev/null 2>&1

# eth0 is brought up by networking.service at boot ("auto"), not by a udev
# hotplug job: on a starved host that job times out waiting for the device
# unit, and the VM never gets its address.
cat >"$root/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
NET
# Emulated guests on a loaded 2-core host can take minutes to boot: no start
# or device job may time out (the defaults, 90 s, left VMs without udev,
# journald or eth0). The kernel command line also turns service watchdogs off.
echo 'timeout 600;' >>"$root/etc/dhcp/dhclient.conf"
mkdir -p "$root/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStartSec=15min\nDefaultDeviceTimeoutSec=15min\n' >"$root/etc/systemd/system.conf.d/kongctl-slow.conf"
printf '/dev/vda / ext4 defaults,noatime 0 1\n' >"$root/etc/fstab"
echo kongbox >"$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
sed -i 's/^hosts:.*/hosts: files myhostname dns/' "$root/etc/nsswitch.conf"

# A small initrd: virtio and ext4 are modules in Debian's kernel.
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\ncrc32c_generic\n' >>"$root/etc/initramfs-tools/modules"
kver=$(ls "$root/lib/modules" | sort -V | tail -n1)
moddir="$root/lib/modules/$kver/kernel"
for d in drivers/gpu sound drivers/media drivers/net/wireless drivers/usb drivers/net/ethernet \
	drivers/infiniband drivers/staging net/bluetooth drivers/bluetooth drivers/isdn drivers/hid \
	drivers/input/joystick drivers/input/touchscreen drivers/iio drivers/scsi/lpfc drivers/scsi/qla2xxx; do
	rm -rf "${moddir:?}/$d"
done
in_root depmod "$kver"
in_root update-initramfs -u -k "$kver" >/dev/null 2>&1

# Timers that only cost CPU under emulation.
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer \
	systemd-tmpfiles-clean.timer getty@tty1.service >/dev/null 2>&1 || true

rm -f "$root/usr/sbin/policy-rc.d"
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
: >"$root/etc/resolv.conf"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

for m in dev/pts dev sys proc; do umount -l "$root/$m"; done

install -d -m 755 "$boot"
cp "$root/boot/vmlinuz-$kver" "$kernel.tmp" && mv "$kernel.tmp" "$kernel"
cp "$root/boot/initrd.img-$kver" "$initrd.tmp" && mv "$initrd.tmp" "$initrd"
chmod 644 "$kernel" "$initrd"

log "image after $(( $(date +%s) - start ))s"
truncate -s 8G "$work/disk.raw"
mkfs.ext4 -q -F -L root -d "$root" "$work/disk.raw"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/box.img"
rm -f "$work/disk.raw"
echo '{"provider":"libvirt","format":"qcow2","virtual_size":8}' >"$work/metadata.json"
cat >"$work/Vagrantfile" <<VF
# Box kongctl/bookworm-$hash, built by scripts/vagrant/build-box.sh (no bootloader).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.driver = "qemu"
    lv.kernel = "$kernel"
    lv.initrd = "$initrd"
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet systemd.service_watchdogs=0"
  end
end
VF
(cd "$work" && tar cf box.box metadata.json Vagrantfile box.img)
mkdir -p "$out"
mv "$work/box.box" "$out/box.box.tmp" && mv "$out/box.box.tmp" "$out/box.box"
vagrant box add --force --name "$box_name" "$out/box.box" 2>&1 | grep -v Progress >&2
log "box $box_name built in $(( $(date +%s) - start ))s ($(du -h "$out/box.box" | cut -f1))"
echo "$box_name"
