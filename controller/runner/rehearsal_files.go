package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The files the fleet's configuration names by path (certificates and
// their keys, the licence, the keyring's keys) go with its kong.conf to
// the rehearsal host: read on the migration node, created there
// owner-only where the host has no file at that path, removed after the
// rehearsal on every path (issue 23). Their content travels over the SSH
// sessions alone (fleet.FileCopier), never in a log, the journal or the
// report; only settings and paths are named. Custom plugin code on
// lua_package_path is not copied: its directory must be on the rehearsal
// host already (or come with a package in plugin_packages).

// confFileSettings are the kong.conf settings whose value is a file path
// (a comma-separated list for the certificates).
var confFileSettings = []string{
	"ssl_cert", "ssl_cert_key", "admin_ssl_cert", "admin_ssl_cert_key",
	"admin_gui_ssl_cert", "admin_gui_ssl_cert_key", "status_ssl_cert", "status_ssl_cert_key",
	"debug_ssl_cert", "debug_ssl_cert_key", "client_ssl_cert", "client_ssl_cert_key",
	"cluster_cert", "cluster_cert_key", "cluster_ca_cert", "lua_ssl_trusted_certificate",
	"license_path", "keyring_public_key", "keyring_private_key", "keyring_recovery_public_key",
}

// confPath is a file or directory a configuration setting names.
type confPath struct{ Setting, Path string }

// confPaths are the files and directories the effective configuration
// names: kong.conf's settings with the service environment's KONG_* over
// them. Values that are not absolute paths (inline PEM or base64,
// "system", relative Lua paths) are not files to copy.
func confPaths(conf []byte, env map[string]string) (files, dirs []confPath) {
	values := confValues(conf)
	for k, v := range env {
		if key, ok := strings.CutPrefix(k, "KONG_"); ok {
			values[strings.ToLower(key)] = v
		}
	}
	for _, s := range confFileSettings {
		for _, p := range strings.Split(values[s], ",") {
			if p = strings.TrimSpace(p); strings.HasPrefix(p, "/") && !slices.Contains(files, confPath{s, p}) {
				files = append(files, confPath{s, p})
			}
		}
	}
	for _, p := range strings.Split(values["lua_package_path"], ";") {
		p = strings.TrimSpace(p)
		if !strings.HasPrefix(p, "/") {
			continue
		}
		if i := strings.Index(p, "?"); i >= 0 {
			p = p[:i]
		}
		if d := filepath.Clean(p); !strings.HasSuffix(p, "/") {
			p = filepath.Dir(d)
		} else {
			p = d
		}
		if kongTree(p) {
			continue
		}
		if !slices.Contains(dirs, confPath{"lua_package_path", p}) {
			dirs = append(dirs, confPath{"lua_package_path", p})
		}
	}
	return files, dirs
}

// kongTree: dir is where Kong's package and its rocks put Lua modules
// (custom rocks come with plugin_packages), not a custom code directory.
func kongTree(dir string) bool {
	for _, t := range []string{"/usr/local/share/lua", "/usr/local/openresty", "/usr/local/kong", "/usr/local/lib/lua"} {
		if dir == t || strings.HasPrefix(dir, t+"/") {
			return true
		}
	}
	return false
}

// confValues reads kong.conf's `key = value` lines (a # starts a comment
// unless escaped, as Kong's loader has it), the last one winning.
func confValues(conf []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(conf))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for i := 0; i < len(line); i++ {
			if line[i] == '#' && (i == 0 || line[i-1] != '\\') {
				line = line[:i]
				break
			}
		}
		k, v, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			out[strings.ToLower(k)] = strings.ReplaceAll(strings.TrimSpace(v), `\#`, "#")
		}
	}
	return out
}

// pathsQuery prints each path of $KONGCTL_PATHS (one a line) that exists.
const pathsQuery = `printf '%s\n' "$KONGCTL_PATHS" | while IFS= read -r p; do [ -n "$p" ] && [ -e "$p" ] && printf '%s\n' "$p"; done; exit 0`

// existing are the paths of ps that exist on host h.
func (e *engine) existing(ctx context.Context, h string, ps []confPath) (map[string]bool, error) {
	n, err := e.node(ctx, h)
	if err != nil {
		return nil, err
	}
	var list []string
	for _, p := range ps {
		list = append(list, p.Path)
	}
	r, err := execOK(ctx, n, "the query", fleet.ExecRequest{Command: pathsQuery, Env: map[string]string{"KONGCTL_PATHS": strings.Join(list, "\n")}, Timeout: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("look for the files kong.conf names on %s: %w", h, err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if l != "" {
			out[l] = true
		}
	}
	return out, nil
}

// fleetConf reads the migration node's kong.conf and service environment.
func (e *engine) fleetConf(ctx context.Context) ([]byte, map[string]string, error) {
	src := e.spec.Nodes[0]
	n, err := e.node(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	conf, err := n.ReadConf(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read kong.conf on %s: %w", src, err)
	}
	env, _, err := e.sourceEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	return conf, env.Vars, nil
}

// rehearsalFilesGap says why the files the fleet's configuration names
// cannot go to the rehearsal host ("" when they can): a file the
// migration node does not have, a lua_package_path directory the
// rehearsal host does not have, or an adapter that copies no file.
func (e *engine) rehearsalFilesGap(ctx context.Context) (string, error) {
	conf, env, err := e.fleetConf(ctx)
	if err != nil {
		return "", err
	}
	files, dirs := confPaths(conf, env)
	src, h := e.spec.Nodes[0], e.spec.Rehearsal
	var gaps []string
	if len(files) > 0 {
		if !e.copiesFiles(ctx) {
			return "the fleet's adapter cannot copy the files kong.conf names to the rehearsal host", nil
		}
		have, err := e.existing(ctx, src, files)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if !have[f.Path] {
				gaps = append(gaps, fmt.Sprintf("%s names %s, which %s does not have", f.Setting, f.Path, src))
			}
		}
	}
	if len(dirs) > 0 {
		have, err := e.existing(ctx, h, dirs)
		if err != nil {
			return "", err
		}
		for _, d := range dirs {
			if !have[d.Path] {
				gaps = append(gaps, fmt.Sprintf("lua_package_path names %s (custom plugin code), which %s does not have", d.Path, h))
			}
		}
	}
	return strings.Join(gaps, "; "), nil
}

// copiesFiles: the adapters can copy a file from the migration node to
// the rehearsal host.
func (e *engine) copiesFiles(ctx context.Context) bool {
	src, err1 := e.node(ctx, e.spec.Nodes[0])
	dst, err2 := e.node(ctx, e.spec.Rehearsal)
	if err1 != nil || err2 != nil {
		return false
	}
	_, ok1 := src.(fleet.FileCopier)
	_, ok2 := dst.(fleet.FileCopier)
	return ok1 && ok2
}

// rehearsalCopies lists, on the rehearsal host, the files a rehearsal
// copies there, written before they are: the next rehearsal removes what
// a killed controller left, as the end of each one does.
const rehearsalCopies = "/var/lib/kongctl/rehearsal-copies"

// listCopies appends $KONGCTL_PATHS to the list; removeCopies removes the
// listed files, printing each, then the list.
const (
	listCopies   = `umask 077; mkdir -p -- "${KONGCTL_LIST%/*}" && printf '%s\n' "$KONGCTL_PATHS" >>"$KONGCTL_LIST"`
	removeCopies = `[ -f "$KONGCTL_LIST" ] || exit 0; while IFS= read -r p; do [ -n "$p" ] && [ -e "$p" ] && rm -f -- "$p" && printf '%s\n' "$p"; done <"$KONGCTL_LIST"; rm -f -- "$KONGCTL_LIST"`
)

// copyConfFiles copies the files conf and env name from the migration
// node to the rehearsal host where it has none at that path, listing them
// there first (rehearsalCopies); listed is true when there is a list to
// remove (removeCopiedFiles). Copies a killed rehearsal left are removed
// first. A key's or licence's content goes to the redactor.
func (e *engine) copyConfFiles(ctx context.Context, conf []byte, env map[string]string) (listed bool, err error) {
	files, _ := confPaths(conf, env)
	if len(files) == 0 {
		return false, nil
	}
	src, h := e.spec.Nodes[0], e.spec.Rehearsal
	sn, err := e.node(ctx, src)
	if err != nil {
		return false, err
	}
	dn, err := e.node(ctx, h)
	if err != nil {
		return false, err
	}
	from, ok1 := sn.(fleet.FileCopier)
	to, ok2 := dn.(fleet.FileCopier)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("the fleet's adapter cannot copy the files kong.conf names to %s", h)
	}
	if err := e.removeCopies(ctx, dn); err != nil {
		return false, err
	}
	have, err := e.existing(ctx, h, files)
	if err != nil {
		return false, err
	}
	var todo []confPath
	var paths []string
	for _, f := range files {
		if have[f.Path] {
			e.note("rehearsal: %s already has %s (%s), left as it is", h, f.Path, f.Setting)
			continue
		}
		todo, paths = append(todo, f), append(paths, f.Path)
	}
	if len(todo) == 0 {
		return false, nil
	}
	if _, err := execOK(ctx, dn, "the list of copies", fleet.ExecRequest{Command: listCopies, Timeout: 30 * time.Second,
		Env: map[string]string{"KONGCTL_LIST": rehearsalCopies, "KONGCTL_PATHS": strings.Join(paths, "\n")}}); err != nil {
		return false, fmt.Errorf("list the copies in %s on %s: %w", rehearsalCopies, h, err)
	}
	for _, f := range todo {
		b, err := from.ReadFile(ctx, f.Path)
		if err != nil {
			return true, fmt.Errorf("copy %s (%s) from %s: %w", f.Path, f.Setting, src, err)
		}
		if strings.Contains(f.Setting, "key") || f.Setting == "license_path" {
			e.red.add(bytes.TrimSpace(b))
		}
		if _, err := to.CreateFile(ctx, f.Path, b); err != nil {
			return true, fmt.Errorf("copy %s (%s) to %s: %w", f.Path, f.Setting, h, err)
		}
		e.note("rehearsal: copied %s (%s) from %s to %s, owner-only", f.Path, f.Setting, src, h)
	}
	return true, nil
}

// removeCopies removes the files rehearsalCopies lists on n, noting each.
func (e *engine) removeCopies(ctx context.Context, n fleet.Node) error {
	r, err := execOK(ctx, n, "rm", fleet.ExecRequest{Command: removeCopies, Env: map[string]string{"KONGCTL_LIST": rehearsalCopies}, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("remove the copies %s lists on %s: %w", rehearsalCopies, e.spec.Rehearsal, err)
	}
	for _, p := range strings.Fields(r.Stdout) {
		e.note("rehearsal: removed the copy of %s from %s", p, e.spec.Rehearsal)
	}
	return nil
}

// removeCopiedFiles removes the copies on the rehearsal host when listed,
// on every path; a failure is a warning naming the list.
func (e *engine) removeCopiedFiles(ctx context.Context, listed bool) {
	if !listed {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	n, err := e.node(ctx, e.spec.Rehearsal)
	if err == nil {
		err = e.removeCopies(ctx, n)
	}
	if err != nil {
		e.find(Finding{Severity: SevWarning, Code: "rehearsal-files", Host: e.spec.Rehearsal,
			Message: fmt.Sprintf("%s; remove the files %s lists by hand", e.red.err(err), rehearsalCopies)})
	}
}
