package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// maxCapture bounds how much of one command's output is kept for parsing.
const maxCapture = 4 << 20

// opRun is one operation's execution record: the tails of everything it
// ran and the exit status of the last command.
type opRun struct {
	a          *Agent
	secrets    []string
	margin     int
	stdout     *tailBuffer
	stderr     *tailBuffer
	exitStatus int
	// nice, when above 0, runs the op's commands at that lower CPU
	// priority (nice -n): work kept off the critical path.
	nice int
}

func newOpRun(a *Agent, secrets []string) *opRun {
	var clean []string
	margin := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		clean = append(clean, s)
		margin = max(margin, len(s))
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(clean, func(i, j int) bool { return len(clean[i]) > len(clean[j]) })
	return &opRun{
		a: a, secrets: clean, margin: margin,
		stdout:     newTailBuffer(agentproto.TailBytes + margin),
		stderr:     newTailBuffer(agentproto.TailBytes + margin),
		exitStatus: -1,
	}
}

// addSecrets adds values found during the op (the service's environment)
// to those redacted from its tails and reply.
func (r *opRun) addSecrets(secrets []string) {
	for _, s := range secrets {
		if s != "" && !containsStr(r.secrets, s) {
			r.secrets = append(r.secrets, s)
			r.margin = max(r.margin, len(s))
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// tails returns the redacted last TailBytes of stdout and stderr.
func (r *opRun) tails() (string, string) {
	return tailOf(redact(r.stdout.String(), r.secrets)), tailOf(redact(r.stderr.String(), r.secrets))
}

// note writes an agent message into the stderr tail.
func (r *opRun) note(format string, args ...any) {
	fmt.Fprintf(r.stderr, "kongctl-agent: "+format+"\n", args...)
}

// cmdSpec is one command to run.
type cmdSpec struct {
	Args  []string
	Env   []string // added to the agent's base environment: KEY=VALUE
	Dir   string
	Stdin io.Reader
}

// cmdResult is a finished command. A non-zero exit is not an error.
type cmdResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int // -1 when killed by a signal
}

// exec runs spec, capturing its output into the result and the op's tails.
// It fails only when the command cannot start or ctx ends (the whole
// process group is killed then).
func (r *opRun) exec(ctx context.Context, spec cmdSpec) (cmdResult, error) {
	var res cmdResult
	if len(spec.Args) == 0 {
		return res, errors.New("empty command")
	}
	if r.a.Trace != nil {
		var keys []string
		for _, kv := range spec.Env {
			k, _, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
		}
		r.a.Trace(append([]string(nil), spec.Args...), keys)
	}
	args := spec.Args
	if r.nice > 0 {
		if nice, err := exec.LookPath("nice"); err == nil {
			args = append([]string{nice, "-n", strconv.Itoa(r.nice)}, args...)
		}
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(append([]string(nil), r.a.Env...), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdin = spec.Stdin
	var out, errb capBuffer
	out.limit, errb.limit = maxCapture, maxCapture
	cmd.Stdout = io.MultiWriter(&out, r.stdout)
	cmd.Stderr = io.MultiWriter(&errb, r.stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res.Stdout, res.Stderr = out.Bytes(), errb.Bytes()
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		err = nil
	}
	r.exitStatus = res.ExitCode
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: %w", spec.Args[0], ctx.Err())
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return res, agentproto.Errorf(agentproto.CodeNotFound, "%s: %v", spec.Args[0], err)
		}
		return res, fmt.Errorf("run %s: %w", spec.Args[0], err)
	}
	return res, nil
}

// streamStdout runs args with the agent's environment, its stdout read
// by consume as it comes (a stream too large to capture, such as an
// archive), the first 4 KiB of its stderr kept. err is a command that
// could not start; consumeErr and waitErr are consume's and the command's
// ends, for the caller to weigh.
func (a *Agent) streamStdout(ctx context.Context, args []string, consume func(io.Reader) error) (stderr []byte, consumeErr, waitErr, err error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = a.Env
	var errb capBuffer
	errb.limit = 4096
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	consumeErr = consume(out)
	_, _ = io.Copy(io.Discard, out)
	waitErr = cmd.Wait()
	return errb.Bytes(), consumeErr, waitErr, nil
}

// capBuffer keeps the first limit bytes written to it.
type capBuffer struct {
	bytes.Buffer
	limit int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// tailBuffer keeps the last n bytes written to it. Safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// baseEnv is the environment of the commands the agent runs: the agent's
// own, minus anything that could carry a secret or change Kong's config
// unasked, with a PATH that has the sbin dirs and /usr/local/bin.
func baseEnv(environ []string) []string {
	var env []string
	path := ""
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH":
			path = v
			continue
		case strings.HasPrefix(k, "KONG_"), strings.HasPrefix(k, "PG"), k == "SUDO_ASKPASS":
			continue
		}
		env = append(env, kv)
	}
	dirs := strings.Split(path, ":")
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if !containsStr(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	var keep []string
	for _, d := range dirs {
		if d != "" {
			keep = append(keep, d)
		}
	}
	return append(env, "PATH="+strings.Join(keep, ":"), "LC_ALL=C")
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lookPath finds name in the PATH of the agent's base environment.
func (a *Agent) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", err
		}
		return name, nil
	}
	for _, kv := range a.Env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range strings.Split(p, ":") {
				f := d + "/" + name
				if st, err := os.Stat(f); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return f, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}
