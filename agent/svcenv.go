package agent

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// serviceEnv is the configuration Kong's service runs with beyond
// kong.conf: the KONG_* variables of its environment and the -c/-p its
// unit gives `kong prepare` (kong-reference 3.2, 9.2). A `kong` command
// typed in an SSH shell sees none of it; the agent hands the same values
// to every kong command it runs, in the child's environment only.
type serviceEnv struct {
	// Source says where the environment was read: "systemd unit
	// kong.service", "process 1234", "file /etc/kong/kong_env.conf", or ""
	// (nothing read: kong.conf and defaults only).
	Source string
	Vars   map[string]string // KONG_X -> value
	From   map[string]string // KONG_X -> "unit <path>", "drop-in <path>", "file <path>", "process <pid>"
	Conf   string            // -c of the unit's ExecStartPre, "" when none
	Prefix string            // -p of the unit's ExecStartPre, "" when none
}

// svcRef names a node's service the way the controller knows it.
type svcRef struct {
	Manager, Unit, EnvFile, Prefix string
	// Carried, when set, is the service environment: the controller's
	// (agentproto.KongEnv), and the node's own is not read.
	Carried agentproto.KongEnv
}

// readServiceEnv finds the service's environment: on systemd from the
// unit (systemctl show); under the kong CLI from the running nginx
// master's /proc/<pid>/environ, else from the named environment file.
// A source that exists but cannot be read is an error: Kong would then
// run the commands on other settings than it serves with.
func (a *Agent) readServiceEnv(ctx context.Context, run *opRun, ref svcRef, confPrefix string) (*serviceEnv, error) {
	if ref.Manager == agentproto.ManagerSystemd {
		unit := cmp.Or(ref.Unit, findUnit(""))
		if unit == "" {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the kong service's environment: no kong systemd unit found")
		}
		systemctl, err := a.lookPath("systemctl")
		if err != nil {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of unit %s: %v", unit, err)
		}
		res, err := run.exec(ctx, cmdSpec{Args: []string{systemctl, "show", unit, "-p", "Environment", "-p", "EnvironmentFiles", "-p", "ExecStartPre", "-p", "DropInPaths", "-p", "FragmentPath"}})
		if err != nil {
			return nil, fmt.Errorf("read the environment of unit %s: %w", unit, err)
		}
		if res.ExitCode != 0 {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of unit %s: systemctl show exited %d: %s", unit, res.ExitCode, strings.TrimSpace(clip(string(res.Stderr), 512)))
		}
		return parseSystemdShow(unit, string(res.Stdout), os.ReadFile)
	}
	env := &serviceEnv{Vars: map[string]string{}, From: map[string]string{}}
	if ref.EnvFile != "" {
		b, err := os.ReadFile(ref.EnvFile)
		if err != nil {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the kong service's environment file %s: %v", ref.EnvFile, err)
		}
		env.Source = "file " + ref.EnvFile
		env.merge(parseEnvFile(b), "file "+ref.EnvFile)
	}
	prefix := cmp.Or(ref.Prefix, env.Vars["KONG_PREFIX"], confPrefix)
	if pid, alive := pidFromFile(filepath.Join(prefix, "pids", "nginx.pid")); alive {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of the running kong (pid %d): %v", pid, err)
		}
		// The running process is what Kong serves with: it wins.
		proc := &serviceEnv{Source: fmt.Sprintf("process %d", pid), Vars: map[string]string{}, From: map[string]string{}}
		proc.merge(parseEnviron(b), fmt.Sprintf("process %d", pid))
		return proc, nil
	}
	return env, nil
}

// merge adds the KONG_* entries of vars, attributed to from.
func (e *serviceEnv) merge(vars map[string]string, from string) {
	for k, v := range vars {
		if strings.HasPrefix(k, "KONG_") && len(k) > len("KONG_") {
			e.Vars[k], e.From[k] = v, from
		}
	}
}

// flagsDiffer says when the unit gives `kong prepare` another -c or -p
// than the ones kongctl would give its kong commands: they would then run
// on another configuration than the service's.
func (e *serviceEnv) flagsDiffer(conf, prefix string) error {
	for _, f := range []struct{ flag, unit, ours, attr string }{{"-c", e.Conf, conf, "kong_conf"}, {"-p", e.Prefix, prefix, "prefix"}} {
		if f.unit != "" && f.ours != "" && filepath.Clean(f.unit) != filepath.Clean(f.ours) {
			return agentproto.Errorf(agentproto.CodeInvalid, "%s prepares kong with %s %s, not %s: set the inventory's upgrade.%s to %s",
				e.Source, f.flag, f.unit, f.ours, f.attr, f.unit)
		}
	}
	return nil
}

// childEnv is the environment to add to a kong command: KEY=VALUE, sorted.
func (e *serviceEnv) childEnv() []string {
	if e == nil {
		return nil
	}
	out := make([]string, 0, len(e.Vars))
	for k, v := range e.Vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// minRedact is the shortest value found on the node that is redacted: a
// shorter one (a test setup's pg_password = kong) would also match JSON
// keys and ordinary words, and replacing it would corrupt the reply. Kong
// does not print a password's value itself.
const minRedact = agentproto.MinSecretLen

// secrets are the values to redact from kong's output.
func (e *serviceEnv) secrets() []string {
	if e == nil {
		return nil
	}
	var out []string
	for k, v := range e.Vars {
		if len(v) >= minRedact && isSecretKey(strings.ToLower(strings.TrimPrefix(k, "KONG_"))) {
			out = append(out, v)
		}
	}
	return out
}

// isSecretKey: the conf keys whose values are never shown (the passwords,
// inline private keys, the license, after Kong's remove_sensitive,
// kong-reference 9.2).
func isSecretKey(k string) bool { return agentproto.SecretConfKey(k) }

// parseSystemdShow reads `systemctl show -p Environment -p
// EnvironmentFiles -p ExecStartPre -p DropInPaths -p FragmentPath`. The
// EnvironmentFile= files are read (a missing one without the `-` prefix
// is an error, as systemd refuses to start the unit then) and win over
// Environment= (systemd.exec(5)); a variable set by an Environment= line
// of a drop-in is attributed to that drop-in.
func parseSystemdShow(unit, out string, readFile func(string) ([]byte, error)) (*serviceEnv, error) {
	e := &serviceEnv{Source: "systemd unit " + unit, Vars: map[string]string{}, From: map[string]string{}}
	var fragment string
	var dropIns, envFiles, envWords []string
	var optional = map[string]bool{}
	for _, line := range splitLines(out) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "FragmentPath":
			fragment = v
		case "DropInPaths":
			dropIns = strings.Fields(v)
		case "Environment":
			envWords = append(envWords, splitQuoted(v)...)
		case "EnvironmentFiles":
			// "/etc/kong/kong_env.conf (ignore_errors=no)", one per line.
			path, rest, _ := strings.Cut(v, " ")
			if path != "" {
				envFiles = append(envFiles, path)
				optional[path] = strings.Contains(rest, "ignore_errors=yes")
			}
		case "ExecStartPre":
			e.Conf, e.Prefix = kongFlags(v, e.Conf, e.Prefix)
		}
	}
	if fragment == "" {
		return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of unit %s: systemd has no unit file for it (FragmentPath empty)", unit)
	}
	// Which file set each Environment= variable: the unit, then each
	// drop-in in order (later wins, as systemd merges them).
	setBy := map[string]string{}
	for _, f := range append([]string{fragment}, dropIns...) {
		b, err := readFile(f)
		if err != nil {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of unit %s: %v", unit, err)
		}
		what := "drop-in " + f
		if f == fragment {
			what = "unit " + f
		}
		for k := range unitEnvironment(b) {
			setBy[k] = what
		}
	}
	for _, w := range envWords {
		k, v, ok := strings.Cut(w, "=")
		if ok && strings.HasPrefix(k, "KONG_") && len(k) > len("KONG_") {
			e.Vars[k], e.From[k] = v, cmp.Or(setBy[k], "unit "+fragment)
		}
	}
	for _, f := range envFiles {
		b, err := readFile(f)
		if err != nil {
			if optional[f] {
				continue
			}
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "read the environment of unit %s: EnvironmentFile %s: %v", unit, f, err)
		}
		e.merge(parseEnvFile(b), "file "+f)
	}
	return e, nil
}

// unitEnvironment is the variables the Environment= lines of one unit
// file or drop-in set.
func unitEnvironment(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		v, ok := strings.CutPrefix(line, "Environment=")
		if !ok {
			continue
		}
		if v == "" { // Environment= resets the list
			clear(out)
			continue
		}
		for _, w := range splitQuoted(v) {
			if k, val, ok := strings.Cut(w, "="); ok {
				out[k] = val
			}
		}
	}
	return out
}

// kongFlags picks -c/--conf and -p/--prefix out of a `kong prepare`
// ExecStartPre as systemctl show prints it ("{ path=... ; argv[]=kong
// prepare -p /usr/local/kong ; ... }").
func kongFlags(v, conf, prefix string) (string, string) {
	i := strings.Index(v, "argv[]=")
	if i < 0 {
		return conf, prefix
	}
	argv, _, _ := strings.Cut(v[i+len("argv[]="):], " ;")
	f := strings.Fields(argv)
	if len(f) < 2 || filepath.Base(f[0]) != "kong" {
		return conf, prefix
	}
	for j := 1; j < len(f); j++ {
		name, val, hasVal := strings.Cut(f[j], "=")
		if !hasVal && j+1 < len(f) {
			val = f[j+1]
		}
		switch name {
		case "-c", "--conf":
			conf = val
		case "-p", "--prefix":
			prefix = val
		default:
			continue
		}
		if !hasVal {
			j++
		}
	}
	return conf, prefix
}

// splitQuoted splits systemd's Environment= value: words separated by
// spaces, a word may be in double or single quotes, \ escapes a character.
func splitQuoted(s string) []string {
	var out []string
	var b strings.Builder
	in, quote, esc := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			b.WriteByte(c)
			esc = false
		case c == '\\':
			esc, in = true, true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			b.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// parseEnvFile reads an EnvironmentFile= file: KEY=VALUE lines, # and ;
// comments, a value optionally in quotes (systemd.exec(5)).
func parseEnvFile(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(strings.TrimPrefix(k, "export ")), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// parseEnviron reads /proc/<pid>/environ: NUL-separated KEY=VALUE.
func parseEnviron(b []byte) map[string]string {
	out := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// effectiveConf is the node's configuration as Kong resolves it for its
// service: kong.conf (confPath, else the unit's -c, else Kong's default
// locations) with the service's KONG_* environment over it. ref.Manager
// "" detects the manager as facts does. confErr: a kong.conf named but
// unreadable; envErr: a service environment that cannot be read (Kong
// would then run commands on other settings than it serves with).
func (a *Agent) effectiveConf(ctx context.Context, run *opRun, ref svcRef, confPath string) (conf *kongConf, env *serviceEnv, confErr, envErr error) {
	conf, env, confErr, envErr = a.serviceConf(ctx, run, ref, confPath)
	run.addSecrets(env.secrets())
	return conf, env, confErr, envErr
}

// carriedSource names a carried environment (agentproto.KongEnv) as the
// source of its settings.
const carriedSource = "carried by kongctl"

// serviceConf is effectiveConf without registering the environment's
// secrets for redaction (service.env returns them). A carried environment
// (ref.Carried) is the service's: the node's own is not read.
func (a *Agent) serviceConf(ctx context.Context, run *opRun, ref svcRef, confPath string) (conf *kongConf, env *serviceEnv, confErr, envErr error) {
	if len(ref.Carried) > 0 {
		env = &serviceEnv{Source: carriedSource, Vars: map[string]string{}, From: map[string]string{}}
		env.merge(ref.Carried, carriedSource)
		conf, err := loadKongConf(confPath)
		if err != nil && confPath != "" {
			confErr = agentproto.Errorf(agentproto.CodeNotFound, "%v", err)
		}
		conf.applyEnv(env)
		return conf, env, confErr, nil
	}
	if ref.Manager == "" {
		ref.Manager = agentproto.ManagerKongCLI
		if u := findUnit(""); u != "" && a.systemdUsable(ctx, run) {
			ref.Manager, ref.Unit = agentproto.ManagerSystemd, u
		}
	}
	if ref.Manager == agentproto.ManagerSystemd {
		if env, envErr = a.readServiceEnv(ctx, run, ref, ""); envErr == nil {
			envErr = env.flagsDiffer(confPath, ref.Prefix)
			confPath, ref.Prefix = cmp.Or(confPath, env.Conf), cmp.Or(ref.Prefix, env.Prefix)
		}
	}
	conf, err := loadKongConf(confPath)
	if err != nil && confPath != "" {
		confErr = agentproto.Errorf(agentproto.CodeNotFound, "%v", err)
	}
	if env == nil && envErr == nil {
		env, envErr = a.readServiceEnv(ctx, run, ref, conf.prefix())
	}
	conf.applyEnv(env)
	return conf, env, confErr, envErr
}
