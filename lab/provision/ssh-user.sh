#!/bin/sh
# Create a non-root SSH user with passwordless sudo (the operator account kongctl
# logs in as with `become { method = "sudo" }`). Runs as root. Idempotent.
#
# The account gets no password (`*`): it logs in with a key only, and is not
# "locked" (`!`), which sshd refuses when it runs without PAM.
#
# Usage: ssh-user.sh NAME
set -eu
name=${1:?usage: ssh-user.sh NAME}
if ! getent passwd "$name" >/dev/null; then
	useradd --create-home --shell /bin/bash "$name"
fi
usermod -p '*' "$name"
install -d -m 0755 /etc/sudoers.d
umask 077
printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$name" >/etc/sudoers.d/"$name".tmp
chmod 0440 /etc/sudoers.d/"$name".tmp
mv /etc/sudoers.d/"$name".tmp /etc/sudoers.d/"$name"
