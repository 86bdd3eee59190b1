package agent

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// extractPackage unpacks a .deb (dpkg-deb -x) or an .rpm (rpm2cpio, whose
// cpio stream the agent unpacks itself: cpio is not installed everywhere)
// into root without installing it.
func extractPackage(ctx context.Context, run *opRun, pkg, root string) error {
	if strings.HasSuffix(pkg, ".rpm") {
		if err := run.a.extractRPM(ctx, pkg, root); err != nil {
			return agentproto.Errorf(agentproto.CodeCommandFailed, "kong.conf check: extract %s: %v", filepath.Base(pkg), err)
		}
		return nil
	}
	r, err := run.exec(ctx, cmdSpec{Args: []string{"dpkg-deb", "-x", pkg, root}})
	if err != nil {
		return fmt.Errorf("kong.conf check: extract %s: %w", filepath.Base(pkg), err)
	}
	if r.ExitCode != 0 {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "kong.conf check: extract %s: dpkg-deb exited %d: %s", filepath.Base(pkg), r.ExitCode, clip(strings.TrimSpace(string(r.Stderr)), 1024))
	}
	return nil
}

// extractRPM streams `rpm2cpio <pkg>` into unpackCPIO.
func (a *Agent) extractRPM(ctx context.Context, pkg, root string) error {
	bin, err := a.lookPath("rpm2cpio")
	if err != nil {
		return fmt.Errorf("rpm2cpio: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, pkg)
	cmd.Env = a.Env
	var stderr capBuffer
	stderr.limit = 4096
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rpm2cpio: %w", err)
	}
	uerr := unpackCPIO(out, root)
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if uerr != nil {
		return fmt.Errorf("%w (rpm2cpio: %v %s)", uerr, werr, strings.TrimSpace(string(stderr.Bytes())))
	}
	// An archive read to its trailer is whole: Debian 12's rpm2cpio
	// (rpm 4.18.0) exits 1 after writing a complete archive, so its
	// status is only reported when the archive is cut short.
	return nil
}

// unpackCPIO unpacks a cpio "newc" archive (what rpm2cpio writes):
// directories, regular files and symlinks, every path kept under root.
func unpackCPIO(r io.Reader, root string) error {
	br := bufio.NewReader(r)
	var off int64
	pad := func(n int64) error {
		if p := (4 - (off+n)%4) % 4; p > 0 {
			if _, err := io.CopyN(io.Discard, br, p); err != nil {
				return err
			}
			off += p
		}
		return nil
	}
	for {
		var hdr [110]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("cpio header: %w", err)
		}
		off += 110
		if m := string(hdr[:6]); m != "070701" && m != "070702" {
			return fmt.Errorf("cpio: not a newc archive (magic %q)", m)
		}
		field := func(i int) (int64, error) { return strconv.ParseInt(string(hdr[6+8*i:14+8*i]), 16, 64) }
		mode, err1 := field(1)
		size, err2 := field(6)
		nameSize, err3 := field(11)
		if err := errors.Join(err1, err2, err3); err != nil || nameSize <= 0 || nameSize > 4096 {
			return fmt.Errorf("cpio: bad header: %v", err)
		}
		nameb := make([]byte, nameSize)
		if _, err := io.ReadFull(br, nameb); err != nil {
			return fmt.Errorf("cpio name: %w", err)
		}
		off += nameSize
		if err := pad(0); err != nil {
			return err
		}
		name := strings.TrimRight(string(nameb), "\x00")
		if name == "TRAILER!!!" {
			return nil
		}
		rel := filepath.Clean("/" + name)
		dst := filepath.Join(root, rel)
		if rel == "/" || !strings.HasPrefix(dst, root+string(filepath.Separator)) {
			return fmt.Errorf("cpio: entry %q leaves the extract", name)
		}
		body := io.LimitReader(br, size)
		var err error
		switch mode & 0o170000 {
		case 0o040000:
			err = os.MkdirAll(dst, 0o755)
		case 0o100000:
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(mode&0o755)); err == nil {
					_, err = io.Copy(f, body)
					err = errors.Join(err, f.Close())
				}
			}
		case 0o120000:
			var target []byte
			if target, err = io.ReadAll(body); err == nil {
				if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
					err = os.Symlink(string(target), dst)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("cpio: %s: %w", name, err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil { // what was not consumed
			return fmt.Errorf("cpio: %s: %w", name, err)
		}
		off += size
		if err := pad(0); err != nil {
			return err
		}
	}
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
