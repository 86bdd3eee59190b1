package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
)

// TestMain lets the test binary act as kongctl-agent (for detached steps,
// which re-execute the agent) when KONGCTL_AGENT_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("KONGCTL_AGENT_TEST_MAIN") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], Stdio{os.Stdin, os.Stdout, os.Stderr}))
	}
	os.Exit(m.Run())
}

func testAgent(t *testing.T) *Agent {
	t.Helper()
	t.Setenv("KONGCTL_AGENT_TEST_MAIN", "1") // inherited by re-executed step runners
	a := New(t.TempDir())
	return a
}

// rpc runs one request through ServeRPC and returns the raw reply.
func rpc(t *testing.T, a *Agent, req any) (*agentproto.Reply, string) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if code := a.ServeRPC(ctx, bytes.NewReader(body), &out, &errb); code != 0 {
		t.Fatalf("ServeRPC exit %d: %s", code, errb.String())
	}
	rep, err := agentproto.DecodeReply(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("decode reply %q: %v", out.String(), err)
	}
	return rep, out.String()
}

func mustReq(t *testing.T, op agentproto.Op, params any) *agentproto.Request {
	t.Helper()
	req, err := agentproto.NewRequest(op, params)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestHello(t *testing.T) {
	a := testAgent(t)
	rep, _ := rpc(t, a, mustReq(t, agentproto.OpHello, nil))
	h, err := agentproto.DecodeResult[agentproto.HelloResult](rep)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filehash.SHA256(a.Exe)
	if h.SHA256 != want || h.ProtocolVersion != agentproto.ProtocolVersion || h.StateDir != a.StateDir {
		t.Fatalf("hello = %+v (want sha %s)", h, want)
	}
}

func TestProtocolMismatchReply(t *testing.T) {
	a := testAgent(t)
	rep, _ := rpc(t, a, map[string]any{"protocol_version": agentproto.ProtocolVersion + 1, "op": "facts", "params": map[string]any{}})
	if rep.Error == nil || rep.Error.Code != agentproto.CodeProtocolMismatch {
		t.Fatalf("reply = %+v", rep)
	}
	if rep.ProtocolVersion != agentproto.ProtocolVersion || rep.Op != agentproto.OpFacts || rep.Result != nil {
		t.Fatalf("mismatch reply must carry the agent's version and no result: %+v", rep)
	}
}

func TestRedactionEverywhere(t *testing.T) {
	a := testAgent(t)
	secret := `s3<cr>et&"pw`
	sudo := "sudo-pass-123"
	req := mustReq(t, agentproto.OpExec, agentproto.ExecParams{
		Command:   `echo "out pw=$PW sudo=` + sudo + `"; echo "err $PW" >&2; exit 3`,
		SecretEnv: map[string]string{"PW": secret},
	})
	req.Redact = []string{sudo}
	rep, raw := rpc(t, a, req)
	for _, s := range []string{secret, sudo, "s3<cr>et", `s3\u003ccr\u003eet`} {
		if strings.Contains(raw, s) {
			t.Fatalf("reply leaks %q: %s", s, raw)
		}
	}
	res, err := agentproto.DecodeResult[agentproto.ExecResult](rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || rep.ExitStatus != 3 {
		t.Fatalf("exit = %d / %d", res.ExitCode, rep.ExitStatus)
	}
	if want := "out pw=[REDACTED] sudo=[REDACTED]\n"; rep.StdoutTail != want || res.StdoutTail != want {
		t.Fatalf("stdout tail = %q / %q, want %q", rep.StdoutTail, res.StdoutTail, want)
	}
	if want := "err [REDACTED]\n"; rep.StderrTail != want {
		t.Fatalf("stderr tail = %q", rep.StderrTail)
	}
}

func TestRedactionInErrorsAndLongTails(t *testing.T) {
	a := testAgent(t)
	dir := t.TempDir()
	kong := filepath.Join(dir, "kong")
	// A kong that echoes its password in an error, after lots of output,
	// so the secret straddles the tail window's start.
	script := "#!/bin/sh\nhead -c 4090 /dev/zero | tr '\\0' x\nprintf '%s' \"$KONG_PG_PASSWORD\"\necho \"Error: password $KONG_PG_PASSWORD rejected\" >&2\nexit 1\n"
	if err := os.WriteFile(kong, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	pw := "correct-horse-battery"
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: kong, PGPassword: pw}))
	if strings.Contains(raw, pw) || strings.Contains(raw, "battery") {
		t.Fatalf("reply leaks the password: %s", raw)
	}
	if rep.Error == nil || rep.Error.Code != agentproto.CodeKongFailed || !strings.Contains(rep.Error.Message, "[REDACTED]") {
		t.Fatalf("error = %+v", rep.Error)
	}
	if len(rep.StdoutTail) > agentproto.TailBytes {
		t.Fatalf("tail %d bytes > %d", len(rep.StdoutTail), agentproto.TailBytes)
	}
}

func TestTimeoutIsTyped(t *testing.T) {
	a := testAgent(t)
	req := mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "sleep 30"})
	req.Timeout = 300 * time.Millisecond
	start := time.Now()
	rep, _ := rpc(t, a, req)
	if rep.Error == nil || rep.Error.Code != agentproto.CodeTimeout {
		t.Fatalf("reply = %+v", rep)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

func TestDetachedStepRunsOnceAndSurvivesRPCKill(t *testing.T) {
	a := testAgent(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	params := agentproto.ExecParams{Command: "sleep 1; echo ran >> " + marker + "; echo done-out"}
	req := mustReq(t, agentproto.OpExec, params)
	req.Detach, req.StepID = true, "step-1"
	body, _ := json.Marshal(req)

	// Start it through a real `rpc` process, then kill that process's whole
	// group, as a dropped SSH session would.
	cmd := exec.Command(exe, "rpc", "--state-dir", a.StateDir)
	cmd.Env = append(os.Environ(), "KONGCTL_AGENT_TEST_MAIN=1")
	cmd.Stdin = bytes.NewReader(body)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rpc: %v", err)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	rep, err := agentproto.DecodeReply(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	st, err := agentproto.DecodeResult[agentproto.StepStatus](rep)
	if err != nil || !st.Started || st.State != agentproto.StepRunning {
		t.Fatalf("start: %+v %v", st, err)
	}

	// Starting it again does not run it again.
	rep, _ = rpc(t, a, req)
	st2, err := agentproto.DecodeResult[agentproto.StepStatus](rep)
	if err != nil || st2.Started {
		t.Fatalf("second start: %+v %v", st2, err)
	}
	// Attach without waiting: still running.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpAttach, agentproto.AttachParams{StepID: "step-1"}))
	ar, err := agentproto.DecodeResult[agentproto.AttachResult](rep)
	if err != nil || ar.Status.State != agentproto.StepRunning || ar.Reply != nil {
		t.Fatalf("attach now: %+v %v", ar, err)
	}
	// Attach and wait.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpAttach, agentproto.AttachParams{StepID: "step-1", Wait: 20 * time.Second}))
	ar, err = agentproto.DecodeResult[agentproto.AttachResult](rep)
	if err != nil || ar.Status.State != agentproto.StepDone || ar.Reply == nil {
		t.Fatalf("attach wait: %+v %v", ar, err)
	}
	res, err := agentproto.DecodeResult[agentproto.ExecResult](ar.Reply)
	if err != nil || res.ExitCode != 0 || ar.Reply.StdoutTail != "done-out\n" || ar.Reply.StepID != "step-1" {
		t.Fatalf("step reply: %+v %+v %v", ar.Reply, res, err)
	}
	// A third start after completion: still not re-run.
	rep, _ = rpc(t, a, req)
	st3, _ := agentproto.DecodeResult[agentproto.StepStatus](rep)
	if st3.Started || st3.State != agentproto.StepDone {
		t.Fatalf("third start: %+v", st3)
	}
	time.Sleep(200 * time.Millisecond)
	b, _ := os.ReadFile(marker)
	if got := strings.Count(string(b), "ran"); got != 1 {
		t.Fatalf("step ran %d times, want 1", got)
	}
	fi, err := os.Stat(a.stepPath("step-1"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("step record mode: %v %v", fi.Mode(), err)
	}
	// Unknown step.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpAttach, agentproto.AttachParams{StepID: "nope"}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeNotFound {
		t.Fatalf("unknown step: %+v", rep.Error)
	}
}

// AttachWait starts a detached step and waits for it in the same call;
// starting it again with AttachWait attaches, never runs it twice.
func TestDetachedStartAndAttachInOneCall(t *testing.T) {
	a := testAgent(t)
	marker := filepath.Join(t.TempDir(), "marker")
	req := mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "echo ran >> " + marker + "; echo done-out"})
	req.Detach, req.StepID, req.AttachWait = true, "step-aw", 20*time.Second
	for i := range 2 {
		rep, _ := rpc(t, a, req)
		ar, err := agentproto.DecodeResult[agentproto.AttachResult](rep)
		if err != nil || ar.Status.State != agentproto.StepDone || ar.Reply == nil || ar.Reply.StdoutTail != "done-out\n" {
			t.Fatalf("call %d: %+v %v", i+1, ar, err)
		}
	}
	b, _ := os.ReadFile(marker)
	if got := strings.Count(string(b), "ran"); got != 1 {
		t.Fatalf("step ran %d times, want 1", got)
	}
	// A short wait on a step still running returns its running status.
	slow := mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "sleep 1"})
	slow.Detach, slow.StepID, slow.AttachWait = true, "step-slow", 50*time.Millisecond
	rep, _ := rpc(t, a, slow)
	ar, err := agentproto.DecodeResult[agentproto.AttachResult](rep)
	if err != nil || ar.Status.State != agentproto.StepRunning || ar.Reply != nil {
		t.Fatalf("slow step: %+v %v", ar, err)
	}
}

func TestDetachedSecretsNotOnDisk(t *testing.T) {
	a := testAgent(t)
	secret := "detached-secret-xyz"
	req := mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: `echo "$PW"`, SecretEnv: map[string]string{"PW": secret}})
	req.Detach, req.StepID = true, "s2"
	rep, _ := rpc(t, a, req)
	if rep.Error != nil {
		t.Fatal(rep.Error)
	}
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpAttach, agentproto.AttachParams{StepID: "s2", Wait: 20 * time.Second}))
	ar, err := agentproto.DecodeResult[agentproto.AttachResult](rep)
	if err != nil || ar.Reply == nil || ar.Reply.StdoutTail != "[REDACTED]\n" {
		t.Fatalf("attach: %+v %v", ar, err)
	}
	filepath.Walk(a.StateDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret", p)
			}
			if info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %v", p, info.Mode())
			}
		}
		return nil
	})
}

// An agent whose own executable is not the binary the controller delivered
// refuses every request and runs nothing; the right hash is served.
func TestAgentRefusesForeignHash(t *testing.T) {
	a := testAgent(t)
	marker := filepath.Join(t.TempDir(), "ran")
	req := mustReq(t, agentproto.OpExec, agentproto.ExecParams{Command: "touch " + marker})
	req.AgentSHA256 = strings.Repeat("0", 64)
	rep, _ := rpc(t, a, req)
	if rep.Error == nil || rep.Error.Code != agentproto.CodeAgentMismatch {
		t.Fatalf("reply = %+v, want %s", rep, agentproto.CodeAgentMismatch)
	}
	want, _ := filehash.SHA256(a.Exe)
	if !strings.Contains(rep.Error.Message, want) || !strings.Contains(rep.Error.Message, req.AgentSHA256) {
		t.Fatalf("error %q should name both hashes", rep.Error.Message)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the refused request ran its command (stat: %v)", err)
	}

	req.AgentSHA256 = want
	rep, _ = rpc(t, a, req)
	if rep.Error != nil {
		t.Fatalf("request with the right hash: %+v", rep.Error)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the accepted request did not run: %v", err)
	}
}
