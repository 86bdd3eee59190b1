package labenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// nodeEnv is the environment of commands run inside a host.
var nodeEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
	"LC_ALL=C.UTF-8",
}

// cmdError is a failed command with its output, trimmed.
type cmdError struct {
	what string
	out  string
	err  error
}

func (e *cmdError) Error() string {
	out := strings.TrimSpace(e.out)
	if len(out) > 2000 {
		out = "..." + out[len(out)-2000:]
	}
	if out == "" {
		return fmt.Sprintf("%s: %v", e.what, e.err)
	}
	return fmt.Sprintf("%s: %v: %s", e.what, e.err, out)
}

func (e *cmdError) Unwrap() error { return e.err }

// ExitCode returns the exit code of a failed command, or -1.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// run runs a machine command and returns its combined output.
func run(ctx context.Context, stdin io.Reader, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Stdin = stdin
	if env != nil {
		cmd.Env = env
	}
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		return out.String(), &cmdError{what: name + " " + strings.Join(args, " "), out: out.String(), err: err}
	}
	return out.String(), nil
}

// ip runs ip(8).
func ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, nil, nil, "ip", args...)
	return err
}

// nsenterArgs enters every namespace of a host held by pid.
func nsenterArgs(pid int) []string {
	return []string{"-t", strconv.Itoa(pid), "-m", "-n", "-u", "-i", "--"}
}

// execIn runs a shell script inside a host's namespaces (as root) and returns
// its combined output. env is added to nodeEnv; secrets go on stdin or in env.
func execIn(ctx context.Context, h *Host, stdin io.Reader, env []string, script string) (string, error) {
	args := append(nsenterArgs(h.HolderPID), "/bin/sh", "-c", script)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Stdin = stdin
	cmd.Env = append(append([]string{}, nodeEnv...), env...)
	cmd.Dir = "/"
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		return out.String(), &cmdError{what: firstLine(script), out: out.String(), err: err}
	}
	return out.String(), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
