package kongsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"
)

// Build is what lab/cmd/kong bakes in with -ldflags -X.
type Build struct {
	Version string // e.g. 3.4.2 or 3.4.3.5; "" reads FAKE_KONG_VERSION (default 3.4.2)
	Edition string // oss or enterprise; "" reads FAKE_KONG_EDITION (default oss)
}

// Stdio carries the streams of one invocation.
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// app is one invocation of the simulator.
type app struct {
	rel   Release
	env   []string
	stdio Stdio
	now   func() time.Time
	exe   string
	quiet bool
	isTTY func() bool
	prog  string
}

// exitErr ends a command with a code; msg (if any) is printed as Kong's
// `Error: ...` block.
type exitErr struct {
	code int
	msg  string
}

func (e *exitErr) Error() string { return e.msg }

func fail(format string, a ...any) error {
	return &exitErr{code: 1, msg: fmt.Sprintf(format, a...)}
}

// Main runs the simulator. args is the full argv: when argv[0] is `nginx`
// it acts as the nginx binary of the package (daemon in the foreground,
// or `-s signal`).
func Main(ctx context.Context, b Build, args []string, env []string, stdio Stdio) int {
	version, edition := b.Version, b.Edition
	if version == "" {
		version = lookupEnv(env, "FAKE_KONG_VERSION")
		edition = lookupEnv(env, "FAKE_KONG_EDITION")
		if version == "" {
			version, edition = "3.4.2", EditionOSS
		}
	}
	rel, err := ParseRelease(version, edition)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	exe, _ := os.Executable()
	a := &app{rel: rel, env: env, stdio: stdio, now: time.Now, exe: exe, prog: "kong"}
	a.isTTY = func() bool {
		f, ok := stdio.Stdin.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	if len(args) == 0 {
		args = []string{"kong"}
	}
	switch filepath.Base(args[0]) {
	case "nginx":
		return a.nginxMain(ctx, args[1:])
	case "kong-health":
		return a.finish(a.cmdHealth(ctx, args[1:]))
	}
	return a.finish(a.dispatch(ctx, args[1:]))
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (a *app) finish(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.msg != "" {
			a.errorBlock(ee.msg)
		}
		return ee.code
	}
	var ce crashError
	if errors.As(err, &ce) {
		return 137
	}
	a.errorBlock(err.Error())
	return 1
}

func (a *app) errorBlock(msg string) {
	fmt.Fprintf(a.stdio.Stderr, "Error: %s\n\n  Run with --v (verbose) or --vv (debug) for more details\n", msg)
}

// log is Kong's info level: stdout, no prefix.
func (a *app) log(format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintf(a.stdio.Stdout, format+"\n", args...)
}

// logAt is warn/error: stderr with a timestamp.
func (a *app) logAt(level, format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintf(a.stdio.Stderr, "%s [%s] %s\n", a.now().Format("2006/01/02 15:04:05"), level, fmt.Sprintf(format, args...))
}

func (a *app) commands() []string {
	cmds := []string{"check", "config", "health", "hybrid", "migrations", "prepare", "quit", "reload", "restart", "roar", "start", "stop", "vault", "version"}
	if a.rel.AtLeast(3, 9) {
		cmds = append(cmds, "drain")
		sort.Strings(cmds)
	}
	return cmds
}

func (a *app) usage() string {
	var b strings.Builder
	b.WriteString("Usage: kong COMMAND [OPTIONS]\n\nThe available commands are:\n")
	for _, c := range a.commands() {
		b.WriteString(" " + c + "\n")
	}
	b.WriteString("\nOptions:\n --v              verbose\n --vv             debug\n")
	return b.String()
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(a.stdio.Stderr, a.usage())
		return &exitErr{code: 1}
	}
	cmd, rest := args[0], args[1:]
	if !contains(a.commands(), cmd) {
		fmt.Fprintf(a.stdio.Stderr, "No such command: %s\n\n%s", cmd, a.usage())
		return &exitErr{code: 1}
	}
	switch cmd {
	case "migrations":
		return a.cmdMigrations(ctx, rest)
	case "start":
		return a.cmdStart(ctx, rest, false)
	case "restart":
		return a.cmdStart(ctx, rest, true)
	case "stop":
		return a.cmdStop(ctx, rest)
	case "quit":
		return a.cmdQuit(ctx, rest)
	case "reload":
		return a.cmdReload(ctx, rest)
	case "health":
		return a.cmdHealth(ctx, rest)
	case "check":
		return a.cmdCheck(rest)
	case "prepare":
		return a.cmdPrepare(rest)
	case "version":
		return a.cmdVersion(rest)
	case "config":
		return a.cmdConfig(ctx, rest)
	case "drain":
		return a.cmdDrain(ctx, rest)
	case "roar":
		a.log("Kong, Monolith destroyer.")
		return nil
	default: // hybrid, vault
		return fail("'%s' is not supported by the Kong simulator", cmd)
	}
}

// flagSpec describes one option of a command.
type flagSpec struct {
	long  string
	short string
	value bool
}

type parsedArgs struct {
	flags map[string]string
	pos   []string
}

func (p parsedArgs) has(k string) bool   { _, ok := p.flags[k]; return ok }
func (p parsedArgs) get(k string) string { return p.flags[k] }

// parseArgs is a small lapp: --long, --long=value, -s value, positionals;
// --v/--vv accepted everywhere; -h/--help prints usage (stderr, exit 1).
func (a *app) parseArgs(cmdUsage string, args []string, specs ...flagSpec) (parsedArgs, error) {
	out := parsedArgs{flags: map[string]string{}}
	find := func(name string, long bool) *flagSpec {
		for i := range specs {
			if (long && specs[i].long == name) || (!long && specs[i].short == name && name != "") {
				return &specs[i]
			}
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-h" || arg == "--help":
			fmt.Fprint(a.stdio.Stderr, cmdUsage)
			return out, &exitErr{code: 1}
		case arg == "--v" || arg == "--vv":
			out.flags[strings.TrimPrefix(arg, "--")] = "true"
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			sp := find(name, true)
			if sp == nil {
				fmt.Fprintf(a.stdio.Stderr, "%s: unrecognized parameter: %s\n", a.prog, name)
				return out, &exitErr{code: 1}
			}
			if sp.value && !hasVal {
				if i+1 >= len(args) {
					fmt.Fprintf(a.stdio.Stderr, "%s: parameter '%s' requires a value\n", a.prog, name)
					return out, &exitErr{code: 1}
				}
				i++
				val = args[i]
			}
			if !sp.value {
				val = "true"
			}
			out.flags[sp.long] = val
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			name := arg[1:]
			sp := find(name, false)
			if sp == nil {
				fmt.Fprintf(a.stdio.Stderr, "%s: unrecognized parameter: %s\n", a.prog, name)
				return out, &exitErr{code: 1}
			}
			val := "true"
			if sp.value {
				if i+1 >= len(args) {
					fmt.Fprintf(a.stdio.Stderr, "%s: parameter '%s' requires a value\n", a.prog, name)
					return out, &exitErr{code: 1}
				}
				i++
				val = args[i]
			}
			out.flags[sp.long] = val
		default:
			out.pos = append(out.pos, arg)
		}
	}
	return out, nil
}

var (
	fConf     = flagSpec{long: "conf", short: "c", value: true}
	fPrefix   = flagSpec{long: "prefix", short: "p", value: true}
	fDBTime   = flagSpec{long: "db-timeout", value: true}
	fLockTime = flagSpec{long: "lock-timeout", value: true}
)

// loadConfig resolves and validates the configuration of a command.
func (a *app) loadConfig(p parsedArgs) (*Config, error) {
	c, err := a.rel.LoadConfig(ConfigArgs{ConfPath: p.get("conf"), Prefix: p.get("prefix"), DBTimeout: p.get("db-timeout")}, a.env)
	if err != nil {
		return nil, fail("%s", err)
	}
	if errs := a.rel.Validate(c); len(errs) > 0 {
		return nil, fail("%s", strings.Join(errs, "\n"))
	}
	return c, nil
}

// preparePrefix creates <prefix>, logs/ and pids/ (prefix_handler).
func preparePrefix(c *Config) error {
	p := c.Prefix()
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return fail("%s is not a directory", p)
	}
	for _, d := range []string{p, filepath.Join(p, "logs"), filepath.Join(p, "pids"), filepath.Join(p, "sockets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail("could not create directory %s: %s", d, err)
		}
	}
	return nil
}
