package pkgbuild

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kongctl/kongctl/lab/kongsim"
)

// generated returns the package's generated text files (destination →
// content), everything but the binary.
func generated(rel kongsim.Release) map[string]string {
	files := map[string]string{
		"/usr/local/bin/kong-health":               kongHealth,
		"/etc/kong/kong.conf.default":              confDefault(rel),
		"/etc/kong/kong.logrotate":                 logrotate,
		"/lib/systemd/system/" + rel.ServiceName(): unit(rel),
		"/usr/local/share/lua/5.1/kong/meta.lua":   metaLua(rel),
		"/usr/local/share/lua/5.1/kong/init.lua":   "-- Kong simulator " + rel.Version + ": the real logic is in /usr/local/bin/kong.\nreturn {}\n",
		"/usr/local/kong/include/README.simulator": "Kong simulator " + rel.String() + "\n",
	}
	for _, ss := range rel.Catalogue("bundled") {
		var path string
		switch ss.Name {
		case "core":
			path = "/usr/local/share/lua/5.1/kong/db/migrations/core/init.lua"
		case "enterprise":
			path = "/usr/local/share/lua/5.1/kong/enterprise_edition/db/migrations/enterprise/init.lua"
		default:
			path = "/usr/local/share/lua/5.1/kong/plugins/" + ss.Name + "/migrations/init.lua"
		}
		var b strings.Builder
		b.WriteString("return {\n")
		for _, m := range ss.Migrations {
			fmt.Fprintf(&b, "  %q,\n", m.Name)
		}
		b.WriteString("}\n")
		files[path] = b.String()
	}
	return files
}

const kongHealth = `#!/bin/sh
# kong-health: lightweight health check (honours KONG_PREFIX).
exec /usr/local/bin/kong health "$@"
`

const logrotate = `/usr/local/kong/logs/*.log {
  su kong kong
  rotate 14
  daily
  missingok
  compress
  delaycompress
  notifempty
  sharedscripts
  postrotate
    if [ -f /usr/local/kong/pids/nginx.pid ]; then
      kill -USR1 ` + "`cat /usr/local/kong/pids/nginx.pid`" + `
    fi
  endscript
}
`

func unit(rel kongsim.Release) string {
	desc := "Kong"
	if rel.EE() {
		desc = "Kong Enterprise Edition"
	}
	return `[Unit]
Description=` + desc + `
Documentation=https://docs.konghq.com/
After=syslog.target network.target remote-fs.target nss-lookup.target

[Service]
ExecStartPre=/usr/local/bin/kong prepare -p /usr/local/kong
ExecStart=/usr/local/openresty/nginx/sbin/nginx -p /usr/local/kong -c nginx.conf
ExecReload=/usr/local/bin/kong prepare -p /usr/local/kong
ExecReload=/usr/local/openresty/nginx/sbin/nginx -p /usr/local/kong -c nginx.conf -s reload
ExecStop=/bin/kill -s QUIT $MAINPID
PrivateTmp=true
User=root

# All environment variables prefixed with ` + "`KONG_`" + ` and capitalized will override
# the settings specified in the ` + "`/etc/kong/kong.conf.default`" + ` file.
Environment=KONG_NGINX_DAEMON=off

LimitNOFILE=infinity

[Install]
WantedBy=multi-user.target
`
}

func metaLua(rel kongsim.Release) string {
	return fmt.Sprintf(`local version = setmetatable({
  major = %d,
  minor = %d,
  patch = %d,
}, {
  __tostring = function(t)
    return %q
  end
})

return {
  _NAME = "kong",
  _VERSION = %q,
  _VERSION_TABLE = version,
  _SERVER_TOKENS = "kong/%s",
  _EDITION = %q,
}
`, rel.Major, rel.Minor, rel.Patch, rel.Version, rel.MetaVersion(), rel.Version, rel.Edition)
}

func confDefault(rel kongsim.Release) string {
	d := rel.Defaults()
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# -----------------------\n# Kong configuration file (Kong simulator %s)\n# -----------------------\n#\n", rel)
	b.WriteString("# Copy this file to /etc/kong/kong.conf and uncomment what you change.\n")
	b.WriteString("# Every property can also be set with an environment variable KONG_<NAME>.\n#\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "#%s = %s\n", k, d[k])
	}
	return b.String()
}

// postinstall creates the kong user and group only when absent. Under
// dpkg's chrootless mode (DPKG_ROOT set, as tests install into a scratch
// root) it leaves the machine's accounts alone. A lab fault,
// FAKE_KONG_POSTINST_SLEEP=N in /usr/local/kong/fault.env, makes it take
// N seconds more: the package manager is then caught mid-configure
// (tests that kill the controller during install).
const postinstall = `#!/bin/sh
set -e
if [ -n "${DPKG_ROOT:-}" ]; then
  echo "kong: scratch root $DPKG_ROOT, not creating the kong user" >&2
  exit 0
fi
d=$(sed -n 's/^FAKE_KONG_POSTINST_SLEEP=\([0-9][0-9]*\)$/\1/p' /usr/local/kong/fault.env 2>/dev/null | tail -n 1)
if [ -n "$d" ]; then
  sleep "$d"
fi
if ! getent group kong >/dev/null 2>&1; then
  groupadd -r kong 2>/dev/null || addgroup --system kong 2>/dev/null || true
fi
if ! getent passwd kong >/dev/null 2>&1; then
  useradd -r -g kong -d /usr/local/kong -s /bin/sh -c "Kong" kong 2>/dev/null || \
    adduser --system --ingroup kong --home /usr/local/kong --no-create-home kong 2>/dev/null || true
fi
mkdir -p /usr/local/kong
chown -R kong:kong /usr/local/kong 2>/dev/null || true
exit 0
`
