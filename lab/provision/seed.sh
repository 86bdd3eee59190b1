#!/bin/sh
# Create the lab's Kong entities through the Admin API of one node: a service "echo"
# with a route on the plain path /lab (the smoke path), and a route with a regex
# path, written the 2.x way (no "~" prefix), so the 2.8 -> 3.0 path migration matters.
# Idempotent (PUT by name).
#
# Environment: KONG_ADMIN_URL (default http://127.0.0.1:8001)
set -eu
admin=${KONG_ADMIN_URL:-http://127.0.0.1:8001}

put() {
	# $1 path, $2 JSON body
	code=$(curl -sS -o /tmp/seed.out -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
		--data "$2" "$admin$1") || { echo "seed.sh: PUT $1 failed" >&2; exit 1; }
	case $code in
	2??) ;;
	*) echo "seed.sh: PUT $1: HTTP $code: $(cat /tmp/seed.out)" >&2; exit 1 ;;
	esac
}

put /services/echo '{"url":"http://127.0.0.1:8001/status"}'
put /services/echo/routes/lab '{"paths":["/lab"],"strip_path":true}'
put /services/echo/routes/lab-regex '{"paths":["/lab/v\\d+/items/(?<id>\\d+)$"],"strip_path":false}'
put /services/echo/routes/lab-headers '{"paths":["/lab-headers"],"hosts":["lab.example.test"]}'
rm -f /tmp/seed.out
