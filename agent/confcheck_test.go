package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// fakeYKong is the kong of a fake Y package: it records its arguments and
// environment, refuses pg_ssl_version = tlsv1_1 at check, and fails
// prepare's nginx test on nginx_proxy_ssl.
const fakeYKong = `#!/bin/sh
echo "$*" >>"$KONGCTL_TEST_LOG"
echo "openresty_path=$KONG_OPENRESTY_PATH" >>"$KONGCTL_TEST_LOG"
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

	r := decoded[agentproto.ConfCheckResult](t, first(rpc(t, a, mustReq(t, agentproto.OpConfCheck, agentproto.ConfCheckParams{PackagePath: pkg, Conf: conf}))))
	if r.Version != "3.9.1" || r.Conf != conf || r.CheckExit != 1 || !strings.Contains(r.CheckStderr, "pg_ssl_version has an invalid value") ||
		r.PrepareExit != 1 || !strings.Contains(r.PrepareStderr, `unknown directive "ssl"`) {
		t.Fatalf("result %+v", r)
	}
	b, _ := os.ReadFile(log)
	calls := string(b)
	// prepare got a scratch prefix under the state dir, never X's.
	if !strings.Contains(calls, "prepare -p "+a.StateDir+"/ycheck-") || strings.Contains(calls, "-p /usr/local/kong") || !strings.Contains(calls, "openresty_path="+a.StateDir+"/ycheck-") {
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
