package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// fakeYKong is the kong of a fake Y package: it records its arguments and
// environment, refuses pg_ssl_version = tlsv1_1 at check, and fails
// prepare's nginx test on nginx_proxy_ssl.
const fakeYKong = `#!/bin/sh
echo "$*" >>"$KONGCTL_TEST_LOG"
echo "openresty_path=$KONG_OPENRESTY_PATH pg_host=$KONG_PG_HOST" >>"$KONGCTL_TEST_LOG"
case "$1" in
version) echo 3.9.1 ;;
check)
  if grep -q '^pg_ssl_version = tlsv1_1' "$2"; then echo "2026/12/06 10:00:00 [error] pg_ssl_version has an invalid value: 'tlsv1_1' (tlsv1_2, tlsv1_3, any)" >&2; exit 1; fi
  echo "configuration at $2 is valid" ;;
prepare)
  mkdir -p "$3" && touch "$3/nginx-kong.conf"
  if grep -q '^nginx_proxy_ssl' "$5"; then printf 'Error: could not prepare Kong prefix at %s: nginx configuration is invalid (exit code 1):\nnginx: [emerg] unknown directive "ssl" in %s/nginx-kong.conf:12\n' "$3" "$3" >&2; exit 1; fi ;;
esac
`

func TestConfCheckRunsYFromScratch(t *testing.T) {
	a := testAgent(t)
	tools := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls")
	t.Setenv("KONGCTL_TEST_LOG", log)
	kongSrc := filepath.Join(tools, "kong-y")
	if err := os.WriteFile(kongSrc, []byte(fakeYKong), 0o755); err != nil {
		t.Fatal(err)
	}
	// dpkg-deb -x <pkg> <root> unpacks Y's kong.
	fakeTools(t, a, tools, map[string]string{
		"dpkg-deb": `[ "$1" = -x ] || exit 2; mkdir -p "$3/usr/local/bin" && cp ` + kongSrc + ` "$3/usr/local/bin/kong"`,
	})
	a.Env = append(a.Env, "KONGCTL_TEST_LOG="+log)
	if err := os.MkdirAll(a.packagesDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(a.packagesDir(), "kong_3.9.1_amd64.deb")
	os.WriteFile(pkg, []byte("deb"), 0o600)
	conf := filepath.Join(t.TempDir(), "kong.conf")
	os.WriteFile(conf, []byte("prefix = /usr/local/kong\npg_ssl_version = tlsv1_1\nnginx_proxy_ssl = on\n"), 0o600)

	// The service's environment file (a cli-managed node): Y's kong runs
	// with its KONG_* values, as the node's Kong serves with them.
	envFile := filepath.Join(t.TempDir(), "kong.env")
	os.WriteFile(envFile, []byte("KONG_PG_HOST=db.internal\n"), 0o600)
	r := decoded[agentproto.ConfCheckResult](t, first(rpc(t, a, mustReq(t, agentproto.OpConfCheck, agentproto.ConfCheckParams{PackagePath: pkg, Conf: conf, Manager: agentproto.ManagerKongCLI, EnvFile: envFile}))))
	if r.Version != "3.9.1" || r.Conf != conf || r.CheckExit != 1 || !strings.Contains(r.CheckStderr, "pg_ssl_version has an invalid value") ||
		r.PrepareExit != 1 || !strings.Contains(r.PrepareStderr, `unknown directive "ssl"`) {
		t.Fatalf("result %+v", r)
	}
	b, _ := os.ReadFile(log)
	calls := string(b)
	// prepare got a scratch prefix under the state dir, never X's.
	if !strings.Contains(calls, "prepare -p "+a.StateDir+"/ycheck-") || strings.Contains(calls, "-p /usr/local/kong") || !strings.Contains(calls, "openresty_path="+a.StateDir+"/ycheck-") || !strings.Contains(calls, " pg_host=db.internal") {
		t.Fatalf("calls:\n%s", calls)
	}
	if left, _ := filepath.Glob(filepath.Join(a.StateDir, "ycheck-*")); len(left) != 0 {
		t.Fatalf("scratch left behind: %v", left)
	}

	// Only a staged package of the agent's packages dir is run.
	other := filepath.Join(t.TempDir(), "kong_3.9.1_amd64.deb")
	os.WriteFile(other, []byte("deb"), 0o600)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpConfCheck, agentproto.ConfCheckParams{PackagePath: other, Conf: conf}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
		t.Fatalf("package outside the packages dir: %+v", rep.Error)
	}
}

func first[A, B any](a A, _ B) A { return a }

// newc writes a cpio "newc" archive of entries (name, mode, body).
func newc(entries ...[3]string) []byte {
	var b strings.Builder
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	add := func(name string, mode int64, body string) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name + "\x00")
		pad()
		b.WriteString(body)
		pad()
	}
	for _, e := range entries {
		mode, _ := strconv.ParseInt(e[1], 8, 64)
		add(e[0], mode, e[2])
	}
	add("TRAILER!!!", 0, "")
	return []byte(b.String())
}

func TestUnpackCPIO(t *testing.T) {
	root := t.TempDir()
	arc := newc(
		[3]string{"./usr/local/bin", "040755", ""},
		[3]string{"./usr/local/bin/kong", "100755", "#!/bin/sh\necho 3.9.1\n"},
		[3]string{"./usr/local/openresty/nginx/sbin/nginx", "120777", "/usr/local/bin/kong"},
		[3]string{"./etc/kong/kong.conf.default", "100644", "odd-sized body"},
	)
	if err := unpackCPIO(bytes.NewReader(arc), root); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "usr/local/bin/kong")); err != nil || string(b) != "#!/bin/sh\necho 3.9.1\n" {
		t.Fatalf("kong: %q %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "usr/local/bin/kong")); fi.Mode().Perm() != 0o755 {
		t.Errorf("kong mode %v", fi.Mode())
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/local/openresty/nginx/sbin/nginx")); err != nil || l != "/usr/local/bin/kong" {
		t.Errorf("symlink: %q %v", l, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kong/kong.conf.default")); string(b) != "odd-sized body" {
		t.Errorf("conf: %q", b)
	}
	// An entry that climbs out is kept inside the extract.
	r2 := filepath.Join(t.TempDir(), "x", "root")
	os.MkdirAll(r2, 0o700)
	if err := unpackCPIO(bytes.NewReader(newc([3]string{"../../etc/passwd", "100644", "x"})), r2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r2, "etc/passwd")); err != nil {
		t.Errorf("climbing entry not confined: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(r2)), "etc/passwd")); err == nil {
		t.Error("an entry was written outside the extract")
	}
	if err := unpackCPIO(bytes.NewReader([]byte("not cpio at all, long enough to fill a header of one hundred and ten bytes................................")), t.TempDir()); err == nil {
		t.Error("garbage accepted")
	}
}
