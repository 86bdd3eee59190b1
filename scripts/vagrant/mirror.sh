#!/bin/bash
# Prints the Debian mirror the offline Vagrant box is built from (build-box.sh):
# $MIRROR when set, else the one apt is configured with for bookworm main
# (apt-get indextargets reads /etc/apt/sources.list and sources.list.d/, one-line
# and deb822 formats alike; APT_CONFIG is honoured). No address is written here:
# with none configured it says how to name one and exits 1.
set -euo pipefail
if [ -n "${MIRROR:-}" ]; then
	echo "${MIRROR%/}"
	exit 0
fi
m=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
	awk '$2 == "bookworm" && $3 == "main" && $4 == "Packages" && $1 ~ /^(https?|file):/ { print $1; exit }' || true)
if [ -z "$m" ]; then
	echo "build-box: no Debian mirror: apt has no bookworm main source (http, https or file) in /etc/apt/sources.list or /etc/apt/sources.list.d/; name one: make vagrant-rehearsal MIRROR=http://<mirror>/debian (or MIRROR=... scripts/vagrant/build-box.sh)" >&2
	exit 1
fi
echo "${m%/}"
