#!/usr/bin/env bash
# Installs what the tests and the lab need on a fresh Debian machine, as
# root. Quick when everything is there already. Not root and something
# missing: one line naming the packages and the command that installs them,
# exit 1. DEPS_ROOT (tests) is a root file system to look in instead of /.
set -euo pipefail
root="${DEPS_ROOT:-}"
need=()
command -v sshd >/dev/null 2>&1 || [ -x "$root/usr/sbin/sshd" ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
compgen -G "$root/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)  # make agents compresses the embedded agents
command -v git >/dev/null 2>&1 || need+=(git)  # controller/cli TestStateDirsIgnoredByGit
# the lab's RPM nodes (labenv PackageFormat rpm and dnf)
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v dnf >/dev/null 2>&1 || need+=(dnf)
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)  # the lab's apt repository (REPO=1)
command -v man >/dev/null 2>&1 || need+=(man-db)  # lab/e2e TestDistPackagesInstallOnAHost reads the installed man pages
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)  # the lab's load balancer (LB=1), in /usr/sbin
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the HTML report loaded in a headless browser (lab/browser)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${need[*]}; install them as root: apt-get install -y --no-install-recommends ${need[*]} (or: sudo make deps)" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster of its own; the tests run
# their own clusters and need none of it.
