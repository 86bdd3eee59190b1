package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/internal/boundedio"
)

// hookTailBytes is how much of the end of a hook's stdout and of its
// stderr kongctl keeps, as the agent does for a hook run on a node; the
// rest is dropped while it streams, so a noisy hook costs bounded memory
// and journal space.
const hookTailBytes = fleet.ExecTailBytes

// hookEnvKeep are the variables of kongctl's own environment a hook on the
// bastion gets: what a shell command needs to run, nothing else. kongctl's
// other variables (a database password given with password_env, a sudo
// password, tokens) never reach a hook.
var hookEnvKeep = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
}

// hookEnv is the environment of a hook on the bastion: hookEnvKeep from
// lookup (kongctl's environment), then the hook's own variables.
func hookEnv(lookup func(string) (string, bool), vars map[string]string) []string {
	var env []string
	for _, k := range hookEnvKeep {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if _, ok := lookup("PATH"); !ok {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	for _, k := range sortedKeys(vars) {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// hookKillDelay is how long a killed hook's output may still flow before
// kongctl stops waiting for it.
const hookKillDelay = 2 * time.Second

// runLocalHook runs a hook on the bastion with sh -c in its own process
// group and a minimal environment. Its timeout (or ctx ending) kills the
// whole group, so a hook that forks cannot outlive it, and fails the hook.
// Only the tails of its output are kept. A non-zero exit is in the result,
// not an error.
func runLocalHook(ctx context.Context, req fleet.ExecRequest, lookup func(string) (string, bool)) (fleet.ExecResult, error) {
	hctx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(hctx, "/bin/sh", "-c", req.Command)
	cmd.Env = hookEnv(lookup, req.Env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = hookKillDelay
	stdout, stderr := &boundedio.Tail{N: hookTailBytes}, &boundedio.Tail{N: hookTailBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	res := fleet.ExecResult{Stdout: validTail(stdout.Bytes()), Stderr: validTail(stderr.Bytes())}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("run hook on the bastion: %w", ctx.Err())
	case hctx.Err() != nil:
		return res, fmt.Errorf("run hook on the bastion: timed out after %s, killed", req.Timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("run hook on the bastion: %w", err)
	}
	return res, nil
}

// validTail is b as valid UTF-8, starting on a rune boundary.
func validTail(b []byte) string {
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// hookOutput is what the journal keeps of a hook that ran: its exit status
// and the redacted tails of its output.
type hookOutput struct {
	ExitCode   int    `json:"exit_code"`
	StdoutTail string `json:"stdout_tail,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
}

// hookRecord is res as the journal keeps it: tails at most hookTailBytes
// long, secrets redacted.
func (e *engine) hookRecord(res fleet.ExecResult) hookOutput {
	clip := func(s string) string {
		if len(s) > hookTailBytes {
			s = validTail([]byte(s[len(s)-hookTailBytes:]))
		}
		return e.red.redact(s)
	}
	return hookOutput{ExitCode: res.ExitCode, StdoutTail: clip(res.Stdout), StderrTail: clip(res.Stderr)}
}

// hookFailure says why a hook that exited non-zero failed, for its error:
// the last line of its stderr (of its stdout when stderr is empty),
// clipped. The journal and reports redact errors.
func hookFailure(res fleet.ExecResult) string {
	out := strings.TrimSpace(res.Stderr)
	if out == "" {
		out = strings.TrimSpace(res.Stdout)
	}
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	const max = 256
	if len(out) > max {
		out = "…" + validTail([]byte(out[len(out)-max:]))
	}
	if out == "" {
		return "no output"
	}
	return out
}

// bastionHost names the machine kongctl runs on in hooks and results.
const bastionHost = "bastion"

// localExec runs a hook on the bastion (see runLocalHook).
func (e *engine) localExec(ctx context.Context, req fleet.ExecRequest) (fleet.ExecResult, error) {
	if e.exec != nil {
		return e.exec(ctx, req)
	}
	return runLocalHook(ctx, req, os.LookupEnv)
}
