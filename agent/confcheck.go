package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// confCheck runs Y's own checks against the node's kong.conf before the
// stop: the staged Y package is extracted into a scratch directory under
// the agent's state dir (dpkg-deb -x, or rpm2cpio | cpio), never installed,
// and its `kong check <conf>` and `kong prepare -p <scratch>/prefix -c
// <conf>` run from there. prepare writes Y's nginx configuration into the
// scratch prefix and runs nginx's configuration test (kong-reference 9.2:
// a stale nginx_* directive fails only there). X stays installed and
// serving; its prefix and .kong_env are never read or written. The
// scratch directory is removed whatever happens.
func (a *Agent) confCheck(ctx context.Context, run *opRun, p *agentproto.ConfCheckParams) (*agentproto.ConfCheckResult, error) {
	pkg := filepath.Clean(p.PackagePath)
	if filepath.Dir(pkg) != a.packagesDir() || !(strings.HasSuffix(pkg, ".deb") || strings.HasSuffix(pkg, ".rpm")) {
		return nil, agentproto.Errorf(agentproto.CodeInvalid, "kong.conf check: %s is not a staged package of %s", p.PackagePath, a.packagesDir())
	}
	if _, err := os.Stat(pkg); err != nil {
		return nil, agentproto.Errorf(agentproto.CodeNotFound, "kong.conf check: staged package: %v", err)
	}
	// The service's environment, as the node's Kong serves with it (its
	// secrets are redacted from the reply by effectiveConf).
	kc, senv, confErr, envErr := a.effectiveConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix}, p.Conf)
	if err := errors.Join(confErr, envErr); err != nil {
		return nil, fmt.Errorf("kong.conf check: the service's configuration: %w", err)
	}
	conf := cmp.Or(kc.path, p.Conf, "/etc/kong/kong.conf")
	scratch, err := os.MkdirTemp(a.StateDir, "ycheck-")
	if err != nil {
		return nil, fmt.Errorf("kong.conf check: create the scratch directory: %w", err)
	}
	defer os.RemoveAll(scratch)
	root := filepath.Join(scratch, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, fmt.Errorf("kong.conf check: %w", err)
	}
	if err := extractPackage(ctx, run, pkg, root); err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "usr/local/bin/kong")
	if _, err := os.Stat(bin); err != nil {
		return nil, agentproto.Errorf(agentproto.CodeNotFound, "kong.conf check: %s holds no usr/local/bin/kong", filepath.Base(pkg))
	}
	env := append(senv.childEnv(), scratchKongEnv(root, a.Env)...)
	res := &agentproto.ConfCheckResult{Conf: conf}
	if r, err := run.exec(ctx, cmdSpec{Args: []string{bin, "version"}, Env: env, Dir: scratch}); err == nil {
		res.Version, _, _ = strings.Cut(strings.TrimSpace(string(r.Stdout)), "\n")
	}
	r, err := run.exec(ctx, cmdSpec{Args: []string{bin, "check", conf}, Env: env, Dir: scratch})
	if err != nil {
		return nil, fmt.Errorf("kong.conf check: run Y's kong check: %w", err)
	}
	res.CheckExit, res.CheckStderr = r.ExitCode, clip(strings.TrimSpace(string(r.Stderr)), agentproto.TailBytes)
	r, err = run.exec(ctx, cmdSpec{Args: []string{bin, "prepare", "-p", filepath.Join(scratch, "prefix"), "-c", conf}, Env: env, Dir: scratch})
	if err != nil {
		return nil, fmt.Errorf("kong.conf check: run Y's kong prepare: %w", err)
	}
	res.PrepareExit, res.PrepareStderr = r.ExitCode, clip(strings.TrimSpace(string(r.Stderr)), agentproto.TailBytes)
	return res, nil
}

// scratchKongEnv makes the extracted tree find its own pieces first:
// its OpenResty (resty, nginx: PATH and Kong's openresty_path, which
// nginx_signals.find_nginx_bin searches instead of
// /usr/local/openresty/nginx/sbin; kong/cmd/utils/nginx_signals.lua 3.4.0
// L100-110), its Lua modules and its shared libraries. base is the
// agent's environment, whose PATH follows.
func scratchKongEnv(root string, base []string) []string {
	path := ""
	for _, kv := range base {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	or := filepath.Join(root, "usr/local/openresty")
	share := filepath.Join(root, "usr/local/share/lua/5.1")
	lib := filepath.Join(root, "usr/local/lib/lua/5.1")
	return []string{
		"PATH=" + strings.Join([]string{filepath.Join(or, "bin"), filepath.Join(or, "nginx/sbin"), filepath.Join(root, "usr/local/bin"), path}, ":"),
		"KONG_OPENRESTY_PATH=" + or,
		"LUA_PATH=" + share + "/?.lua;" + share + "/?/init.lua;" + or + "/lualib/?.lua;;",
		"LUA_CPATH=" + lib + "/?.so;" + or + "/lualib/?.so;;",
		"LD_LIBRARY_PATH=" + strings.Join([]string{filepath.Join(root, "usr/local/kong/lib"), filepath.Join(or, "luajit/lib"), filepath.Join(or, "pcre/lib"), filepath.Join(or, "openssl/lib")}, ":"),
	}
}
