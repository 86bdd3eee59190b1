#!/bin/sh
# Prints where labs live for the checkout in $1 (default: the working
# directory): <checkout>/build, or /kongctl-lab/<hash of the checkout path>
# when the checkout sits where the lab's hosts cannot see it (they overlay or
# replace /tmp, /home, /root, /var, ...). labenv.BuildBase computes the same.
root=${1:-$(pwd)}
case "$root/" in
/etc/* | /usr/* | /var/* | /home/* | /root/* | /opt/* | /srv/* | /tmp/* | /run/*)
	printf '/kongctl-lab/%s\n' "$(printf '%s' "$root" | sha256sum | cut -c1-8)" ;;
*) printf '%s\n' "$root/build" ;;
esac
