package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// A detached step is recorded in <state>/steps/<id>.json (0600). The rpc
// that starts it creates the record exclusively (state running, pid 0), so
// a second start of the same id finds it and never runs the op again; then
// it re-executes the agent as `step-run` in a new session, hands it the
// request (with its secrets) over a pipe, and returns. The runner rewrites
// the record with its pid, runs the op, and records the redacted reply
// (state done). Secrets never reach the record.

// stepRecord is the on-disk record of a step.
type stepRecord struct {
	StepID     string            `json:"step_id"`
	Op         agentproto.Op     `json:"op"`
	State      string            `json:"state"`
	PID        int               `json:"pid,omitempty"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at,omitzero"`
	Reply      *agentproto.Reply `json:"reply,omitempty"`
}

// spawnGrace is how long a record may stay at pid 0 before its step is
// declared lost (the starting rpc died before the runner took over).
const spawnGrace = 30 * time.Second

func (a *Agent) stepsDir() string { return filepath.Join(a.StateDir, "steps") }

func (a *Agent) stepPath(id string) string { return filepath.Join(a.stepsDir(), id+".json") }

func (a *Agent) readStep(id string) (*stepRecord, error) {
	b, err := os.ReadFile(a.stepPath(id))
	if err != nil {
		return nil, err
	}
	var rec stepRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("step %s: corrupt record: %w", id, err)
	}
	return &rec, nil
}

// writeStep replaces the record atomically.
func (a *Agent) writeStep(rec *stepRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := a.stepPath(rec.StepID) + fmt.Sprintf(".%d.tmp", os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, a.stepPath(rec.StepID)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (rec *stepRecord) status(started bool) agentproto.StepStatus {
	return agentproto.StepStatus{StepID: rec.StepID, Op: rec.Op, State: rec.State, Started: started, PID: rec.PID, StartedAt: rec.StartedAt}
}

// startDetached handles a Detach request.
func (a *Agent) startDetached(ctx context.Context, req *agentproto.Request) (*agentproto.Reply, []string) {
	rep := a.newReply(req)
	secrets := append([]string(nil), req.Redact...)
	// Decode params now: a malformed request fails here, not in the runner.
	params, err := agentproto.DecodeParams(req)
	if err != nil {
		rep.Error = toProtoError(err)
		return rep, secrets
	}
	if sh, ok := params.(agentproto.SecretHolder); ok {
		secrets = append(secrets, sh.Secrets()...)
	}
	if req.Op == agentproto.OpAttach {
		rep.Error = agentproto.Errorf(agentproto.CodeInvalid, "attach cannot be detached")
		return rep, secrets
	}
	st, err := a.spawnStep(req)
	if err != nil {
		rep.Error = toProtoError(err)
		return rep, secrets
	}
	if req.AttachWait > 0 {
		ar, err := a.attach(ctx, &agentproto.AttachParams{StepID: req.StepID, Wait: req.AttachWait})
		if ar != nil {
			rep.Result, _ = json.Marshal(ar)
		}
		if err != nil {
			rep.Error = toProtoError(err)
		}
		return rep, secrets
	}
	rep.Result, _ = json.Marshal(st)
	return rep, secrets
}

func (a *Agent) spawnStep(req *agentproto.Request) (*agentproto.StepStatus, error) {
	if err := os.MkdirAll(a.stepsDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", a.stepsDir(), err)
	}
	rec := &stepRecord{StepID: req.StepID, Op: req.Op, State: agentproto.StepRunning, StartedAt: a.Now().UTC()}
	b, _ := json.Marshal(rec)
	f, err := os.OpenFile(a.stepPath(req.StepID), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		old, rerr := a.readStep(req.StepID)
		if rerr != nil {
			return nil, rerr
		}
		if old.Op != req.Op {
			return nil, agentproto.Errorf(agentproto.CodeInvalid, "step %s exists for op %s, not %s", req.StepID, old.Op, req.Op)
		}
		a.checkLost(old)
		st := old.status(false)
		return &st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create step record: %w", err)
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write step record: %w", werr)
	}

	inner := *req
	inner.Detach = false
	body, err := json.Marshal(&inner)
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(a.stepsDir(), req.StepID+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open step log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(a.Exe, "step-run", "--state-dir", a.StateDir, "--id", req.StepID)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		rec.State = agentproto.StepLost
		rec.Reply = &agentproto.Reply{ProtocolVersion: agentproto.ProtocolVersion, Op: req.Op, StepID: req.StepID, ExitStatus: -1,
			Error: agentproto.Errorf(agentproto.CodeStepLost, "start step runner: %v", err)}
		_ = a.writeStep(rec)
		return nil, fmt.Errorf("start step runner: %w", err)
	}
	_, werr = stdin.Write(body)
	stdin.Close()
	pid := cmd.Process.Pid
	// The runner outlives us; reap it if it ends first so no zombie is
	// left while this process lives.
	go func() { _ = cmd.Wait() }()
	if werr != nil {
		return nil, fmt.Errorf("hand request to step runner: %w", werr)
	}
	st := rec.status(true)
	st.PID = pid
	return &st, nil
}

// checkLost marks a running record whose runner is gone as lost (in
// memory; attach reports it).
func (a *Agent) checkLost(rec *stepRecord) {
	if rec.State != agentproto.StepRunning {
		return
	}
	dead := rec.PID == 0 && a.Now().Sub(rec.StartedAt) > spawnGrace || rec.PID > 0 && !pidAlive(rec.PID)
	if !dead {
		return
	}
	// The runner may have written its reply just before exiting.
	if again, err := a.readStep(rec.StepID); err == nil && again.State != agentproto.StepRunning {
		*rec = *again
		return
	}
	rec.State = agentproto.StepLost
}

// stepRun is the detached runner: request on stdin, reply into the record.
func (a *Agent) stepRun(ctx context.Context, id string, in io.Reader, errw io.Writer) int {
	// A dropped SSH session must not end the step.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	if !agentproto.ValidStepID(id) {
		fmt.Fprintf(errw, "kongctl-agent step-run: invalid step id %q\n", id)
		return 2
	}
	rec, err := a.readStep(id)
	if err != nil {
		fmt.Fprintf(errw, "kongctl-agent step-run: %v\n", err)
		return 1
	}
	req, derr := agentproto.DecodeRequest(in)
	rec.PID = os.Getpid()
	if err := a.writeStep(rec); err != nil {
		fmt.Fprintf(errw, "kongctl-agent step-run: %v\n", err)
		return 1
	}
	var rep *agentproto.Reply
	if derr != nil {
		rep = a.newReply(req)
		rep.StepID = id
		rep.Error = toProtoError(derr)
	} else {
		rep = a.Handle(ctx, req)
		rep.StepID = id
	}
	rec.State, rec.Reply, rec.FinishedAt = agentproto.StepDone, rep, a.Now().UTC()
	if err := a.writeStep(rec); err != nil {
		fmt.Fprintf(errw, "kongctl-agent step-run: record reply: %v\n", err)
		return 1
	}
	return 0
}

// attach waits up to p.Wait for a step and returns its state and reply.
func (a *Agent) attach(ctx context.Context, p *agentproto.AttachParams) (*agentproto.AttachResult, error) {
	deadline := a.Now().Add(p.Wait)
	// Steps end on the critical path of the downtime (migrations): poll
	// closely at first, then back off to 100 ms.
	pause := 10 * time.Millisecond
	for {
		rec, err := a.readStep(p.StepID)
		if errors.Is(err, os.ErrNotExist) {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "no step %s", p.StepID)
		}
		if err != nil {
			return nil, err
		}
		a.checkLost(rec)
		switch rec.State {
		case agentproto.StepDone:
			return &agentproto.AttachResult{Status: rec.status(false), Reply: rec.Reply}, nil
		case agentproto.StepLost:
			return &agentproto.AttachResult{Status: rec.status(false)},
				agentproto.Errorf(agentproto.CodeStepLost, "step %s (pid %d) ended without recording a reply", p.StepID, rec.PID)
		}
		if !a.Now().Before(deadline) {
			return &agentproto.AttachResult{Status: rec.status(false)}, nil
		}
		select {
		case <-ctx.Done():
			return &agentproto.AttachResult{Status: rec.status(false)}, nil
		case <-time.After(pause):
		}
		pause = min(pause*3/2, 100*time.Millisecond)
	}
}
