// Package agentclient delivers kongctl-agent to a node and calls its
// operations (see agent/agentproto) over the controller's SSH transport.
//
// A Client is bound to one host. It is safe for concurrent calls as long as
// the Remote is; Deliver must have returned before the first call.
package agentclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/boundedio"
	"github.com/kongctl/kongctl/controller/sshremote"
)

// Remote is what the client needs of a connection to one host.
// *sshremote.Client satisfies it.
type Remote interface {
	Name() string
	Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error)
	Upload(ctx context.Context, dst string, src io.Reader, size int64, mode fs.FileMode, progress func(int64)) error
	Rename(ctx context.Context, oldpath, newpath string) error
}

// DefaultAgentDir is where agents live on a node.
const DefaultAgentDir = "/var/lib/kongctl/bin"

// Options tune a Client. The zero value is usable.
type Options struct {
	// AgentDir is the node directory of agent binaries (DefaultAgentDir).
	AgentDir string
	// StateDir overrides the agent's state root (/var/lib/kongctl) with
	// --state-dir; "" leaves the agent's default.
	StateDir string
	// Become runs the agent (and the install of it) through the host's
	// become method (sudo); the upload then goes to a user-writable
	// staging dir first (StagingDir).
	Become bool
	// StagingDir, for Become, is a directory the login user may write
	// ("" = $HOME/.kongctl).
	StagingDir string
	// Redact lists secrets (e.g. the sudo password) the agent must scrub
	// from its replies in addition to those in each request's params.
	Redact []string
	// Binary returns the agent for a GOARCH (default AgentBinary).
	Binary func(goarch string) (*Binary, error)
	// Observe, when set, sees every reply the agent sends (after
	// decoding, failures included), e.g. to account the agent's own
	// Duration of each operation. It must be safe for concurrent use.
	Observe func(rep *agentproto.Reply)
}

// Client calls one host's agent.
type Client struct {
	r    Remote
	opts Options
	path string // the delivered agent, set by Deliver or SetPath
	sha  string // its SHA-256, sent with every request (the agent refuses to run if it differs)
}

// New returns a client for the host behind r.
func New(r Remote, opts Options) *Client {
	if opts.AgentDir == "" {
		opts.AgentDir = DefaultAgentDir
	}
	if opts.Binary == nil {
		opts.Binary = AgentBinary
	}
	return &Client{r: r, opts: opts}
}

// Host is the inventory name of the client's host.
func (c *Client) Host() string { return c.r.Name() }

// Path is the remote path of the delivered agent ("" before Deliver).
func (c *Client) Path() string { return c.path }

// SetPath uses an agent already on the node at p (tests, resume). Its
// hash is not checked by the agent until Deliver has run.
func (c *Client) SetPath(p string) { c.path, c.sha = p, "" }

// Delivery reports what Deliver did.
type Delivery struct {
	Host     string
	Path     string
	GOARCH   string
	SHA256   string
	Uploaded int64 // bytes sent; 0 when the node already had this agent
	Skipped  bool  // the node already had this agent
	Hello    agentproto.HelloResult
	Duration time.Duration
}

// Deliver makes sure the node runs this kongctl's agent: it finds the
// node's architecture and the hashes of agents already there (one command),
// uploads the right binary when none matches (temp name, size and SHA-256
// checked, chmod 0700, renamed into place), then shakes hands with `hello`,
// refusing a protocol or hash mismatch. progress receives the running byte
// count of the upload (may be nil).
func (c *Client) Deliver(ctx context.Context, progress func(int64)) (*Delivery, error) {
	start := time.Now()
	host := c.r.Name()
	dir := c.opts.AgentDir
	probe := fmt.Sprintf("uname -m; command -v gzip >/dev/null 2>&1 && echo gzip; for f in %s/kongctl-agent-*; do [ -f \"$f\" ] && sha256sum \"$f\"; done; true", shellQuote(dir))
	res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: probe, Become: c.opts.Become})
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: probe: %w", host, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("deliver agent to %s: probe exited %d: %s", host, res.ExitCode, tailString(res.Stderr, 512))
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	goarch, err := GOARCHFromUname(strings.TrimSpace(lines[0]))
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: %w", host, err)
	}
	bin, err := c.opts.Binary(goarch)
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: %w", host, err)
	}
	final := path.Join(dir, "kongctl-agent-"+bin.Short())
	d := &Delivery{Host: host, Path: final, GOARCH: goarch, SHA256: bin.SHA256}
	gz := false
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 2 && f[1] == final && f[0] == bin.SHA256 {
			d.Skipped = true
		}
		if l == "gzip" {
			gz = true
		}
	}
	if !d.Skipped {
		n, err := c.upload(ctx, bin, final, gz, progress)
		d.Uploaded = n
		if err != nil {
			return d, fmt.Errorf("deliver agent to %s: %w", host, err)
		}
	}
	c.path, c.sha = final, bin.SHA256
	hello, err := c.Hello(ctx)
	if err != nil {
		return d, fmt.Errorf("deliver agent to %s: handshake: %w", host, err)
	}
	if hello.ProtocolVersion != agentproto.ProtocolVersion {
		return d, fmt.Errorf("deliver agent to %s: agent %s speaks protocol %d, kongctl speaks %d", host, final, hello.ProtocolVersion, agentproto.ProtocolVersion)
	}
	if hello.SHA256 != bin.SHA256 {
		return d, fmt.Errorf("deliver agent to %s: agent %s has sha256 %s, want %s", host, final, hello.SHA256, bin.SHA256)
	}
	d.Hello = *hello
	d.Duration = time.Since(start)
	return d, nil
}

// upload sends the agent to a temp name beside final, checks its size
// and SHA-256 there and renames it into place. With gz (the node has
// gzip) the binary travels gzip-compressed (about a third of its size)
// and is decompressed on the node before the check, so the check is
// always of the final file. It returns the bytes sent.
func (c *Client) upload(ctx context.Context, bin *Binary, final string, gz bool, progress func(int64)) (int64, error) {
	suffix := randHex(6)
	size := int64(len(bin.Data))
	data := bin.Data
	if gz {
		data = bin.Gzipped()
	}
	sent := int64(len(data))
	var partial int64
	track := func(n int64) {
		partial = n
		if progress != nil {
			progress(n)
		}
	}
	// put writes the upload at up into place at tmp: decompressed, or
	// copied with install (become), or left as it is.
	put := func(up, tmp string, move bool) string {
		switch {
		case gz:
			return fmt.Sprintf("gzip -dc %[1]s > %[2]s; rc=$?; rm -f %[1]s; [ $rc = 0 ] && chmod 0700 %[2]s", shellQuote(up), shellQuote(tmp))
		case move:
			return fmt.Sprintf("install -m 0700 %[1]s %[2]s; rc=$?; rm -f %[1]s; [ $rc = 0 ]", shellQuote(up), shellQuote(tmp))
		}
		return "chmod 0700 " + shellQuote(tmp)
	}
	checkSum := func(tmp string) string {
		return fmt.Sprintf(" && stat -c %%s %[1]s && sha256sum %[1]s", shellQuote(tmp))
	}
	upName := func(p string) string {
		if gz {
			return p + ".gz"
		}
		return p
	}
	if !c.opts.Become {
		if err := c.runOK(ctx, "umask 077 && mkdir -p "+shellQuote(c.opts.AgentDir)+" && chmod 0700 "+shellQuote(c.opts.AgentDir), false); err != nil {
			return 0, fmt.Errorf("create %s: %w", c.opts.AgentDir, err)
		}
		tmp := path.Join(c.opts.AgentDir, ".kongctl-agent-"+bin.Short()+"."+suffix+".tmp")
		up := upName(tmp)
		if err := c.r.Upload(ctx, up, bytes.NewReader(data), sent, 0o700, track); err != nil {
			return partial, fmt.Errorf("upload %s: %w", up, err)
		}
		check := "umask 077; " + put(up, tmp, false) + checkSum(tmp)
		if err := c.checkUploaded(ctx, check, size, bin.SHA256, false); err != nil {
			c.runOK(ctx, "rm -f "+shellQuote(tmp)+" "+shellQuote(up), false)
			return sent, err
		}
		if err := c.r.Rename(ctx, tmp, final); err != nil {
			c.runOK(ctx, "rm -f "+shellQuote(tmp), false)
			return sent, fmt.Errorf("rename %s to %s: %w", tmp, final, err)
		}
		return sent, nil
	}
	// Become: upload as the login user, then install as root.
	staging := c.opts.StagingDir
	if staging == "" {
		res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: `mkdir -p "$HOME/.kongctl" && chmod 0700 "$HOME/.kongctl" && cd "$HOME/.kongctl" && pwd -P`})
		if err != nil || res.ExitCode != 0 {
			return 0, fmt.Errorf("create staging dir: %w (exit %d: %s)", errOr(err), res.ExitCode, tailString(res.Stderr, 256))
		}
		staging = strings.TrimSpace(string(res.Stdout))
	}
	src := upName(path.Join(staging, "kongctl-agent-"+bin.Short()+"."+suffix+".upload"))
	if err := c.r.Upload(ctx, src, bytes.NewReader(data), sent, 0o700, track); err != nil {
		return partial, fmt.Errorf("upload %s: %w", src, err)
	}
	tmp := path.Join(c.opts.AgentDir, ".kongctl-agent-"+bin.Short()+"."+suffix+".tmp")
	install := fmt.Sprintf("umask 077 && install -d -m 0700 %s && { %s; }", shellQuote(c.opts.AgentDir), put(src, tmp, true)) + checkSum(tmp)
	if err := c.checkUploaded(ctx, install, size, bin.SHA256, true); err != nil {
		c.runOK(ctx, "rm -f "+shellQuote(tmp), true)
		c.runOK(ctx, "rm -f "+shellQuote(src), false)
		return sent, err
	}
	if err := c.runOK(ctx, "mv -f "+shellQuote(tmp)+" "+shellQuote(final), true); err != nil {
		c.runOK(ctx, "rm -f "+shellQuote(tmp), true)
		return sent, fmt.Errorf("move %s into place: %w", tmp, err)
	}
	return sent, nil
}

// checkUploaded runs cmd, which prints the size and then `sha256sum` of the
// uploaded file, and compares both.
func (c *Client) checkUploaded(ctx context.Context, cmd string, size int64, sum string, become bool) error {
	res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: cmd, Become: become})
	if err != nil {
		return fmt.Errorf("check uploaded agent: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("check uploaded agent: exit %d: %s", res.ExitCode, tailString(res.Stderr, 512))
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) < 2 {
		return fmt.Errorf("check uploaded agent: unexpected output %q", tailString(res.Stdout, 256))
	}
	if f[0] != fmt.Sprint(size) {
		return fmt.Errorf("check uploaded agent: size %s on the node, want %d", f[0], size)
	}
	if f[1] != sum {
		return fmt.Errorf("check uploaded agent: sha256 %s on the node, want %s", f[1], sum)
	}
	return nil
}

func (c *Client) runOK(ctx context.Context, cmd string, become bool) error {
	res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: cmd, Become: become})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit %d: %s", res.ExitCode, tailString(res.Stderr, 512))
	}
	return nil
}

// TransportError is a call that got no reply because the SSH session
// could not be opened or broke: whether the agent ran the operation is
// unknown. The error text is the transport's own.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ReplyTooLargeError is a call whose reply (stdout) or stderr passed the
// limit: the controller stopped reading there and closed the session, so
// a hostile or broken node costs bounded memory. It is a failed call, not
// a lost connection: it is not retried as one.
type ReplyTooLargeError struct {
	Host   string
	Op     agentproto.Op
	Stream string // "stdout" (the reply) or "stderr"
	Limit  int64
	Err    error // the transport's *sshremote.OutputLimitError
}

func (e *ReplyTooLargeError) Error() string {
	what := "reply"
	if e.Stream != "stdout" {
		what = e.Stream
	}
	return fmt.Sprintf("host %s: agent %s: %s larger than %s", e.Host, e.Op, what, boundedio.Size(e.Limit))
}

func (e *ReplyTooLargeError) Unwrap() error { return e.Err }

// OpError is an operation the agent ran and reported as failed. Unwrap
// gives the *agentproto.Error, so errors.As and agentproto.CodeOf work.
type OpError struct {
	Host       string
	Op         agentproto.Op
	Err        *agentproto.Error
	ExitStatus int
	StdoutTail string
	StderrTail string
	// Reply is the whole reply; some failures carry a partial result
	// (e.g. the holder of a fleet lock).
	Reply *agentproto.Reply
}

func (e *OpError) Error() string {
	return fmt.Sprintf("host %s: agent %s: %v", e.Host, e.Op, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Call sends req to the agent and returns its reply. A reply carrying an
// Error is returned together with an *OpError. Secrets of the request go
// in its body only. A ctx deadline becomes the request's Timeout unless it
// has one.
func (c *Client) Call(ctx context.Context, req *agentproto.Request) (*agentproto.Reply, error) {
	host := c.r.Name()
	if c.path == "" {
		return nil, fmt.Errorf("host %s: agent %s: agent not delivered", host, req.Op)
	}
	if req.ProtocolVersion == 0 {
		req.ProtocolVersion = agentproto.ProtocolVersion
	}
	if req.Timeout == 0 {
		if dl, ok := ctx.Deadline(); ok {
			// leave a little time for the reply to travel
			if d := time.Until(dl) - 2*time.Second; d > 0 {
				req.Timeout = d
			}
		}
	}
	req.Redact = append(req.Redact, c.opts.Redact...)
	if req.AgentSHA256 == "" {
		req.AgentSHA256 = c.sha
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", host, req.Op, err)
	}
	cmd := shellQuote(c.path) + " rpc"
	if c.opts.StateDir != "" {
		cmd += " --state-dir " + shellQuote(c.opts.StateDir)
	}
	res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: cmd, Stdin: bytes.NewReader(body), Become: c.opts.Become, MaxOutput: agentproto.MaxReplyBytes})
	if le := (*sshremote.OutputLimitError)(nil); errors.As(err, &le) {
		// The agent answered, with too much: a failed call, not a lost one.
		return nil, &ReplyTooLargeError{Host: host, Op: req.Op, Stream: le.Stream, Limit: le.Limit, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", host, req.Op, &TransportError{err})
	}
	rep, derr := agentproto.DecodeReply(bytes.NewReader(res.Stdout))
	if derr != nil {
		return nil, fmt.Errorf("host %s: agent %s: exit %d: %w (stderr: %s)", host, req.Op, res.ExitCode, derr, tailString(res.Stderr, 1024))
	}
	if c.opts.Observe != nil {
		c.opts.Observe(rep)
	}
	// A reply is checked, never trusted: another protocol or another op's
	// reply is refused, and secrets an agent echoes are scrubbed here too.
	if rep.ProtocolVersion != agentproto.ProtocolVersion {
		return nil, fmt.Errorf("host %s: agent %s: reply speaks protocol %d, kongctl speaks %d", host, req.Op, rep.ProtocolVersion, agentproto.ProtocolVersion)
	}
	if rep.Op != "" && rep.Op != req.Op {
		return nil, fmt.Errorf("host %s: agent %s: reply is for operation %q", host, req.Op, clipString(string(rep.Op), 64))
	}
	scrubReply(rep, req.Redact)
	if rep.Error != nil {
		return rep, &OpError{Host: host, Op: req.Op, Err: rep.Error, ExitStatus: rep.ExitStatus, StdoutTail: rep.StdoutTail, StderrTail: rep.StderrTail, Reply: rep}
	}
	return rep, nil
}

// call runs op with params and decodes its result into T.
func call[T any](ctx context.Context, c *Client, op agentproto.Op, params any) (*T, error) {
	req, err := agentproto.NewRequest(op, params)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.r.Name(), err)
	}
	rep, err := c.Call(ctx, req)
	if err != nil {
		return nil, err
	}
	v, err := agentproto.DecodeResult[T](rep)
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", c.r.Name(), op, err)
	}
	return &v, nil
}

// Hello returns the agent's identity (protocol, version, own SHA-256).
func (c *Client) Hello(ctx context.Context) (*agentproto.HelloResult, error) {
	return call[agentproto.HelloResult](ctx, c, agentproto.OpHello, agentproto.HelloParams{})
}

// Facts gathers the node's facts.
func (c *Client) Facts(ctx context.Context, p agentproto.FactsParams) (*agentproto.Facts, error) {
	return call[agentproto.Facts](ctx, c, agentproto.OpFacts, p)
}

// ServiceStop stops Kong gracefully (drain, quit/systemctl stop, forced
// after the grace timeout) and checks it is gone.
func (c *Client) ServiceStop(ctx context.Context, p agentproto.ServiceParams) (*agentproto.ServiceResult, error) {
	return call[agentproto.ServiceResult](ctx, c, agentproto.OpServiceStop, p)
}

// ServiceStart starts Kong and waits until it really serves.
func (c *Client) ServiceStart(ctx context.Context, p agentproto.ServiceParams) (*agentproto.ServiceResult, error) {
	return call[agentproto.ServiceResult](ctx, c, agentproto.OpServiceStart, p)
}

// Health runs `kong health` and the HTTP probes.
func (c *Client) Health(ctx context.Context, p agentproto.HealthParams) (*agentproto.HealthResult, error) {
	return call[agentproto.HealthResult](ctx, c, agentproto.OpHealth, p)
}

// HTTPGet sends one GET from the node to one of its own listeners and
// returns the whole answer.
func (c *Client) HTTPGet(ctx context.Context, p agentproto.HTTPGetParams) (*agentproto.HTTPGetResult, error) {
	return call[agentproto.HTTPGetResult](ctx, c, agentproto.OpHTTPGet, p)
}

// ConfCheck runs the staged Y package's own `kong check` and `kong
// prepare` (into a scratch prefix) against the node's kong.conf, Y not
// installed.
func (c *Client) ConfCheck(ctx context.Context, p agentproto.ConfCheckParams) (*agentproto.ConfCheckResult, error) {
	return call[agentproto.ConfCheckResult](ctx, c, agentproto.OpConfCheck, p)
}

// StagePackage checks and keeps a package file under <state>/packages.
func (c *Client) StagePackage(ctx context.Context, p agentproto.StageParams) (*agentproto.StageResult, error) {
	return call[agentproto.StageResult](ctx, c, agentproto.OpPackageStage, p)
}

// InstallPackage installs (or downgrades to) a staged package and holds it.
func (c *Client) InstallPackage(ctx context.Context, p agentproto.InstallParams) (*agentproto.InstallResult, error) {
	return call[agentproto.InstallResult](ctx, c, agentproto.OpPackageInstall, p)
}

// HoldPackage pins an installed package against automatic upgrades.
func (c *Client) HoldPackage(ctx context.Context, p agentproto.HoldParams) (*agentproto.HoldResult, error) {
	return call[agentproto.HoldResult](ctx, c, agentproto.OpPackageHold, p)
}

// Migrations runs `kong migrations <p.Action>` and returns the parsed state.
func (c *Client) Migrations(ctx context.Context, p agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	return call[agentproto.MigrationsResult](ctx, c, agentproto.OpMigrations, p)
}

// DBFingerprint hashes Kong's tables in one consistent snapshot.
func (c *Client) DBFingerprint(ctx context.Context, p agentproto.FingerprintParams) (*agentproto.Fingerprint, error) {
	return call[agentproto.Fingerprint](ctx, c, agentproto.OpDBFingerprint, p)
}

// WriteSignature reads the write counters of Kong's configuration tables,
// waiting up to p.Settle for Kong's other clients to disconnect.
func (c *Client) WriteSignature(ctx context.Context, p agentproto.WriteSignatureParams) (*agentproto.WriteSignature, error) {
	return call[agentproto.WriteSignature](ctx, c, agentproto.OpWriteSignature, p)
}

// FleetLock runs a fleet-lock action as given in p.Action.
func (c *Client) FleetLock(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	return call[agentproto.FleetLockResult](ctx, c, agentproto.OpFleetLock, p)
}

// FleetLockAcquire takes the fleet lock for p.RunID; held by another run it
// fails with code lock_held.
func (c *Client) FleetLockAcquire(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	p.Action = agentproto.LockAcquire
	return c.FleetLock(ctx, p)
}

// FleetLockHeartbeat refreshes the heartbeat of p.RunID's lock.
func (c *Client) FleetLockHeartbeat(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	p.Action = agentproto.LockHeartbeat
	return c.FleetLock(ctx, p)
}

// FleetLockRelease releases p.RunID's lock.
func (c *Client) FleetLockRelease(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	p.Action = agentproto.LockRelease
	return c.FleetLock(ctx, p)
}

// FleetLockInspect reports the lock, stale or not, without changing it.
func (c *Client) FleetLockInspect(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	p.Action = agentproto.LockInspect
	return c.FleetLock(ctx, p)
}

// RunJournal upserts the run's summary row in kongctl.runs.
func (c *Client) RunJournal(ctx context.Context, p agentproto.RunJournalParams) (*agentproto.RunJournalResult, error) {
	return call[agentproto.RunJournalResult](ctx, c, agentproto.OpRunJournal, p)
}

// Backup dumps Kong's schema with pg_dump.
func (c *Client) Backup(ctx context.Context, p agentproto.BackupParams) (*agentproto.BackupResult, error) {
	return call[agentproto.BackupResult](ctx, c, agentproto.OpBackup, p)
}

// Restore restores a dump into Kong's database and re-fingerprints it.
func (c *Client) Restore(ctx context.Context, p agentproto.RestoreParams) (*agentproto.RestoreResult, error) {
	return call[agentproto.RestoreResult](ctx, c, agentproto.OpRestore, p)
}

// VerifyRestore restores a dump into a scratch database, fingerprints and
// drops it.
func (c *Client) VerifyRestore(ctx context.Context, p agentproto.VerifyRestoreParams) (*agentproto.VerifyRestoreResult, error) {
	return call[agentproto.VerifyRestoreResult](ctx, c, agentproto.OpVerifyRestore, p)
}

// MigrationLock reports Kong's own live migrations lock.
func (c *Client) MigrationLock(ctx context.Context, p agentproto.MigrationLockParams) (*agentproto.MigrationLockResult, error) {
	return call[agentproto.MigrationLockResult](ctx, c, agentproto.OpMigrationLock, p)
}

// RowCounts counts the rows of Kong tables on the database.
func (c *Client) RowCounts(ctx context.Context, p agentproto.RowCountsParams) (*agentproto.RowCountsResult, error) {
	return call[agentproto.RowCountsResult](ctx, c, agentproto.OpRowCounts, p)
}

// Exec runs an operator command (a hook); a non-zero exit is in the result,
// not an error.
func (c *Client) Exec(ctx context.Context, p agentproto.ExecParams) (*agentproto.ExecResult, error) {
	return call[agentproto.ExecResult](ctx, c, agentproto.OpExec, p)
}

// StartDetached starts op as detached step stepID (surviving a dropped SSH
// connection) and returns at once. Starting a step that exists returns its
// status without running it again. timeout bounds the step on the node.
func (c *Client) StartDetached(ctx context.Context, stepID string, op agentproto.Op, params any, timeout time.Duration) (*agentproto.StepStatus, error) {
	return detachedCall[agentproto.StepStatus](ctx, c, stepID, op, params, timeout, 0)
}

// StartAttached starts op as detached step stepID like StartDetached (or
// finds it started) and waits up to wait for it in the same call, like
// Attach.
func (c *Client) StartAttached(ctx context.Context, stepID string, op agentproto.Op, params any, timeout, wait time.Duration) (*agentproto.AttachResult, error) {
	return detachedCall[agentproto.AttachResult](ctx, c, stepID, op, params, timeout, wait)
}

// detachedCall sends op as detached step stepID, waiting up to wait for it
// on the node (0: not at all), and decodes the reply's result as T.
func detachedCall[T any](ctx context.Context, c *Client, stepID string, op agentproto.Op, params any, timeout, wait time.Duration) (*T, error) {
	req, err := agentproto.NewRequest(op, params)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.r.Name(), err)
	}
	req.Detach, req.StepID, req.Timeout, req.AttachWait = true, stepID, timeout, wait
	rep, err := c.Call(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := agentproto.DecodeResult[T](rep)
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", c.r.Name(), op, err)
	}
	return &res, nil
}

// Attach waits up to wait for detached step stepID. The result's Reply is
// the step's own reply once it is done (decode it with
// agentproto.DecodeResult); an unknown step fails with code not_found.
func (c *Client) Attach(ctx context.Context, stepID string, wait time.Duration) (*agentproto.AttachResult, error) {
	return call[agentproto.AttachResult](ctx, c, agentproto.OpAttach, agentproto.AttachParams{StepID: stepID, Wait: wait})
}

// scrubReply replaces the request's secrets wherever a reply could carry
// them to a log or report.
func scrubReply(rep *agentproto.Reply, secrets []string) {
	for _, sec := range secrets {
		if len(sec) < 3 {
			continue
		}
		rep.StdoutTail = strings.ReplaceAll(rep.StdoutTail, sec, "[REDACTED]")
		rep.StderrTail = strings.ReplaceAll(rep.StderrTail, sec, "[REDACTED]")
		if rep.Error != nil {
			rep.Error.Message = strings.ReplaceAll(rep.Error.Message, sec, "[REDACTED]")
		}
		if bytes.Contains(rep.Result, []byte(sec)) {
			if enc, err := json.Marshal(sec); err == nil {
				inner := enc[1 : len(enc)-1]
				rep.Result = bytes.ReplaceAll(rep.Result, inner, []byte("[REDACTED]"))
			}
		}
	}
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func tailString(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func errOr(err error) error {
	if err == nil {
		return errors.New("command failed")
	}
	return err
}
