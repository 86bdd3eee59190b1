#!/bin/sh
# Create the lab's Kong entities through the Admin API of one node: a service
# "echo" (upstream: the node's own Status API, so a proxied request gets a real
# 200) with a route on the plain path /lab (the smoke path), and a route with a
# regex path written the 2.x way (no "~" prefix), so the 2.8 -> 3.0 path
# migration matters. Safe to run again: an entity that exists (409) is kept.
#
# Environment: ADMIN_URL (default http://127.0.0.1:8001); ADMIN_TOKEN_STDIN=1
# reads the Admin API token (RBAC) from stdin and sends it as Kong-Admin-Token
# from a private header file (curl -H @file), never on argv.
set -eu
admin=${ADMIN_URL:-http://127.0.0.1:8001}
out=$(mktemp)
hdr=$(mktemp)
trap 'rm -f "$out" "$hdr"' EXIT
if [ "${ADMIN_TOKEN_STDIN:-}" = 1 ]; then
	IFS= read -r token
	printf 'Kong-Admin-Token: %s\n' "$token" >"$hdr"
fi

post() {
	# $1 path, $2 JSON body
	code=$(curl -sS -o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H @"$hdr" \
		--data "$2" "$admin$1") || { echo "seed.sh: POST $1 failed" >&2; exit 1; }
	case $code in
	201 | 200 | 409) ;;
	*) echo "seed.sh: POST $1: HTTP $code: $(cat "$out")" >&2; exit 1 ;;
	esac
}

post /services '{"name":"echo","url":"http://127.0.0.1:8007/status"}'
post /services/echo/routes '{"name":"lab","paths":["/lab"],"strip_path":true}'
post /services/echo/routes '{"name":"lab-regex","paths":["/lab/v\\d+/items/(?<id>\\d+)$"],"strip_path":false}'
post /services/echo/routes '{"name":"lab-host","paths":["/lab-host"],"hosts":["lab.example.test"]}'
