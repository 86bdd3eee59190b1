// Package agent is kongctl-agent, the program the controller pushes to
// every node: it serves a run's requests over one session (`kongctl-agent
// serve`, serve.go), or reads one agentproto.Request on stdin and writes
// one agentproto.Reply on stdout (`kongctl-agent rpc`).
//
// It is built twice (see Makefile, target agents): the tools agent, the
// default build, for the database tools host, with the database operations
// (dbops.go and the files it calls, via pgx); and the node agent, built
// with the tag nodeagent, for Kong nodes, with the standard library,
// agentproto and kongver only, which answers a database operation with
// agentproto.CodeNoDBOps (nodeagent.go). It runs as root on the node (through sudo when the login user is
// not root). Everything it writes under its state root (default
// /var/lib/kongctl: bin/, steps/, packages/, backups/) is owner-only.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Version is the agent's version (set with -ldflags -X; else from the
// build info).
var Version = ""

// DefaultStateDir is the agent's state root on a node.
const DefaultStateDir = "/var/lib/kongctl"

// EnvStateDir overrides the state root (tests); --state-dir wins over it.
const EnvStateDir = "KONGCTL_AGENT_STATE_DIR"

// Stdio is the agent's standard streams.
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Agent runs operations. Its fields are set once before use; an Agent is
// safe for concurrent Handle calls.
type Agent struct {
	StateDir string
	// Exe is the agent's own executable, re-executed for detached steps
	// (default os.Executable).
	Exe string
	// Env is the base environment of the commands it runs (default
	// os.Environ with a PATH that includes the sbin dirs).
	Env []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Trace, when set, sees the argv and extra environment keys of every
	// command the agent runs (tests use it to prove no secret is in argv).
	Trace func(argv []string, envKeys []string)

	shaOnce sync.Once
	sha     string
	shaErr  error
}

// New returns an Agent with defaults filled in.
func New(stateDir string) *Agent {
	a := &Agent{StateDir: stateDir}
	a.fill()
	return a
}

func (a *Agent) fill() {
	if a.StateDir == "" {
		a.StateDir = DefaultStateDir
	}
	if a.Exe == "" {
		a.Exe, _ = os.Executable()
	}
	if a.Env == nil {
		a.Env = baseEnv(os.Environ())
	}
	if a.Now == nil {
		a.Now = time.Now
	}
}

// Main runs the agent's command line and returns the process exit code:
//
//	kongctl-agent version [--json]
//	kongctl-agent rpc [--state-dir DIR]     one Request on stdin, one Reply on stdout
//	kongctl-agent serve [--state-dir DIR]   a session: framed Requests on stdin, Replies on stdout (agentproto/frame.go)
//	kongctl-agent step-run --state-dir DIR --id ID   (internal: a detached step)
func Main(ctx context.Context, args []string, stdio Stdio) int {
	// Everything the agent creates is owner-only.
	syscall.Umask(0o077)
	if len(args) == 0 {
		fmt.Fprintln(stdio.Stderr, "usage: kongctl-agent version|rpc|serve [--state-dir DIR]")
		return 2
	}
	fs := flag.NewFlagSet("kongctl-agent "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	stateDir := fs.String("state-dir", "", "state root (default $"+EnvStateDir+" or "+DefaultStateDir+")")
	asJSON := fs.Bool("json", false, "version: print JSON")
	stepID := fs.String("id", "", "step-run: step id")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *stateDir == "" {
		*stateDir = os.Getenv(EnvStateDir)
	}
	a := New(*stateDir)
	switch args[0] {
	case "version", "--version":
		h, err := a.hello()
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "kongctl-agent: %v\n", err)
			return 1
		}
		if *asJSON {
			b, _ := json.Marshal(h)
			fmt.Fprintln(stdio.Stdout, string(b))
		} else {
			fmt.Fprintf(stdio.Stdout, "kongctl-agent %s protocol %d sha256 %s\n", h.AgentVersion, h.ProtocolVersion, h.SHA256)
		}
		return 0
	case "rpc":
		return a.ServeRPC(ctx, stdio.Stdin, stdio.Stdout, stdio.Stderr)
	case "serve":
		return a.Serve(ctx, stdio.Stdin, stdio.Stdout, stdio.Stderr)
	case "step-run":
		return a.stepRun(ctx, *stepID, stdio.Stdin, stdio.Stderr)
	default:
		fmt.Fprintf(stdio.Stderr, "kongctl-agent: unknown command %q (want version, rpc or serve)\n", args[0])
		return 2
	}
}

// ServeRPC reads one request from in and writes one reply to out. It
// returns 0 when a reply was written (whether or not the op succeeded).
func (a *Agent) ServeRPC(ctx context.Context, in io.Reader, out, errw io.Writer) int {
	b, err := a.answer(ctx, in)
	if err != nil {
		fmt.Fprintf(errw, "kongctl-agent: %v\n", err)
		return 1
	}
	if _, err := out.Write(append(b, '\n')); err != nil {
		fmt.Fprintf(errw, "kongctl-agent: write reply: %v\n", err)
		return 1
	}
	return 0
}

// answer reads one request from in, runs it and returns its encoded
// reply, secrets redacted (rpc and each request of a session).
func (a *Agent) answer(ctx context.Context, in io.Reader) ([]byte, error) {
	start := a.Now()
	req, err := agentproto.DecodeRequest(in)
	var rep *agentproto.Reply
	var secrets []string
	switch {
	case err != nil:
		rep = a.newReply(req)
		rep.Error = toProtoError(err)
		if req != nil {
			secrets = req.Redact
		}
		rep.Duration = a.Now().Sub(start)
	case req.AgentSHA256 != "" && a.checkSelf(req.AgentSHA256) != nil:
		rep = a.newReply(req)
		rep.Error = toProtoError(a.checkSelf(req.AgentSHA256))
		secrets = req.Redact
		rep.Duration = a.Now().Sub(start)
	case noDBOps(req.Op) != nil:
		rep = a.newReply(req)
		rep.Error = noDBOps(req.Op)
		secrets = req.Redact
		rep.Duration = a.Now().Sub(start)
	case req.Detach:
		rep, secrets = a.startDetached(ctx, req)
		rep.Duration = a.Now().Sub(start)
	default:
		rep, secrets = a.handle(ctx, req)
	}
	return encodeReply(rep, secrets)
}

// Handle runs req (not detached) and returns its reply, secrets redacted.
func (a *Agent) Handle(ctx context.Context, req *agentproto.Request) *agentproto.Reply {
	rep, secrets := a.handle(ctx, req)
	b, err := encodeReply(rep, secrets)
	if err != nil {
		return &agentproto.Reply{ProtocolVersion: agentproto.ProtocolVersion, Op: req.Op, ExitStatus: -1,
			Error: agentproto.Errorf(agentproto.CodeInternal, "%v", err)}
	}
	var out agentproto.Reply
	if err := json.Unmarshal(b, &out); err != nil {
		return &agentproto.Reply{ProtocolVersion: agentproto.ProtocolVersion, Op: req.Op, ExitStatus: -1,
			Error: agentproto.Errorf(agentproto.CodeInternal, "re-decode reply: %v", err)}
	}
	return &out
}

func (a *Agent) newReply(req *agentproto.Request) *agentproto.Reply {
	rep := &agentproto.Reply{ProtocolVersion: agentproto.ProtocolVersion, AgentVersion: agentVersion(), ExitStatus: -1}
	if req != nil {
		rep.Op, rep.StepID = req.Op, req.StepID
	}
	return rep
}

// handle runs req and returns the (unredacted) reply and the secrets to
// redact from it.
func (a *Agent) handle(ctx context.Context, req *agentproto.Request) (*agentproto.Reply, []string) {
	start := a.Now()
	rep := a.newReply(req)
	secrets := append([]string(nil), req.Redact...)
	if err := noDBOps(req.Op); err != nil {
		rep.Error = err
		rep.Duration = a.Now().Sub(start)
		return rep, secrets
	}
	params, err := agentproto.DecodeParams(req)
	if err != nil {
		rep.Error = toProtoError(err)
		rep.Duration = a.Now().Sub(start)
		return rep, secrets
	}
	if sh, ok := params.(agentproto.SecretHolder); ok {
		secrets = append(secrets, sh.Secrets()...)
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	run := newOpRun(a, secrets)
	result, err := a.dispatch(ctx, run, req.Op, params)
	rep.Duration = a.Now().Sub(start)
	rep.ExitStatus = run.exitStatus
	rep.StdoutTail, rep.StderrTail = run.tails()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && agentproto.CodeOf(err) != agentproto.CodeTimeout {
			err = agentproto.Errorf(agentproto.CodeTimeout, "%s: timed out after %s: %v", req.Op, req.Timeout, err)
		}
		rep.Error = toProtoError(err)
	}
	if result != nil {
		b, merr := json.Marshal(result)
		if merr != nil {
			rep.Error = agentproto.Errorf(agentproto.CodeInternal, "encode result: %v", merr)
		} else {
			rep.Result = b
		}
	}
	// Secrets the op found on the node (the service's environment).
	return rep, append(secrets, run.secrets...)
}

// handler runs one operation with its params, decoded by
// agentproto.DecodeParams (so of the type agentproto.Ops gives the op).
type handler func(a *Agent, ctx context.Context, run *opRun, params any) (any, error)

// handlers are the operations every agent answers; the database ones are
// in dbHandlers (dbops.go), absent from a node agent.
var handlers = map[agentproto.Op]handler{
	agentproto.OpHello:          func(a *Agent, _ context.Context, _ *opRun, _ any) (any, error) { return a.hello() },
	agentproto.OpFacts:          withRun((*Agent).facts),
	agentproto.OpServiceStart:   withRun((*Agent).serviceStart),
	agentproto.OpServiceStop:    withRun((*Agent).serviceStop),
	agentproto.OpHealth:         withRun((*Agent).health),
	agentproto.OpPackageStage:   withRun((*Agent).stagePackage),
	agentproto.OpPackageInstall: withRun((*Agent).installPackage),
	agentproto.OpPackageHold:    withRun((*Agent).holdPackage),
	agentproto.OpPackageRepair:  withRun((*Agent).repairPackages),
	agentproto.OpMigrations:     withRun((*Agent).migrations),
	agentproto.OpExec:           withRun((*Agent).execOp),
	agentproto.OpAttach:         noRun((*Agent).attach),
	agentproto.OpHTTPGet:        noRun((*Agent).httpGet),
	agentproto.OpConfCheck:      withRun((*Agent).confCheck),
	agentproto.OpLBHAProxy:      noRun((*Agent).lbHAProxy),
	agentproto.OpServiceEnv:     withRun((*Agent).serviceEnvOp),
}

// withRun is the handler of an operation that runs commands (run holds
// their exit status, tails and secrets). P is its params' pointer type.
// Not inlined: one closure body serves every operation, where inlining
// made one per table entry (the node agent's size, TestNodeAgentSize).
//
//go:noinline
func withRun[P, R any](f func(*Agent, context.Context, *opRun, P) (R, error)) handler {
	return func(a *Agent, ctx context.Context, run *opRun, params any) (any, error) {
		p, ok := params.(P)
		if !ok {
			return nil, agentproto.Errorf(agentproto.CodeInternal, "params %T are another operation's", params)
		}
		return f(a, ctx, run, p)
	}
}

// noRun is the handler of an operation that runs no command.
func noRun[P, R any](f func(*Agent, context.Context, P) (R, error)) handler {
	return withRun(func(a *Agent, ctx context.Context, _ *opRun, p P) (R, error) { return f(a, ctx, p) })
}

func (a *Agent) dispatch(ctx context.Context, run *opRun, op agentproto.Op, params any) (any, error) {
	h, ok := handlers[op]
	if !ok {
		h, ok = dbHandlers[op]
	}
	if !ok {
		return nil, agentproto.Errorf(agentproto.CodeInternal, "op %s has no handler", op)
	}
	return h(a, ctx, run, params)
}

// noDBOps is the node agent's answer to a database operation (nil for
// any other op, and for every op of the tools agent).
func noDBOps(op agentproto.Op) *agentproto.Error {
	if HasDBOps || !op.Database() {
		return nil
	}
	return agentproto.Errorf(agentproto.CodeNoDBOps, "%s: this agent has no database operations: it was built for Kong nodes (the database tools host's agent carries them)", op)
}

func toProtoError(err error) *agentproto.Error {
	var pe *agentproto.Error
	if errors.As(err, &pe) {
		if pe.Error() == err.Error() {
			return pe
		}
		// keep the code, keep the context added by wrapping
		return &agentproto.Error{Code: pe.Code, Message: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &agentproto.Error{Code: agentproto.CodeTimeout, Message: err.Error()}
	}
	if errors.Is(err, os.ErrNotExist) {
		return &agentproto.Error{Code: agentproto.CodeNotFound, Message: err.Error()}
	}
	return &agentproto.Error{Code: agentproto.CodeInternal, Message: err.Error()}
}

// checkSelf refuses to serve when the agent's own executable is not the
// binary the controller delivered (want is its SHA-256): a binary replaced
// on the node runs nothing on kongctl's behalf.
func (a *Agent) checkSelf(want string) error {
	h, err := a.hello()
	if err != nil {
		return agentproto.Errorf(agentproto.CodeAgentMismatch, "cannot verify own executable: %v", err)
	}
	if h.SHA256 != want {
		return agentproto.Errorf(agentproto.CodeAgentMismatch, "agent %s has sha256 %s, the controller delivered %s: refusing to run", a.Exe, h.SHA256, want)
	}
	return nil
}

func (a *Agent) hello() (*agentproto.HelloResult, error) {
	a.shaOnce.Do(func() {
		a.sha, a.shaErr = a.selfSHA256()
	})
	if a.shaErr != nil {
		return nil, fmt.Errorf("hash own executable %s: %w", a.Exe, a.shaErr)
	}
	return &agentproto.HelloResult{
		ProtocolVersion: agentproto.ProtocolVersion,
		AgentVersion:    agentVersion(),
		SHA256:          a.sha,
		Path:            a.Exe,
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		UID:             os.Getuid(),
		StateDir:        a.StateDir,
	}, nil
}

func agentVersion() string {
	if Version != "" {
		return Version
	}
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += "-" + rev + dirty
		}
	}
	return v
}

// fileSize returns the size of a file.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
