package agentclient

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// TestDetachedStep: a detached step started and waited for in one call
// comes back done with its own reply; starting it again returns its
// status without running it a second time.
func TestDetachedStep(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	c := New(remote, Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary})
	if _, err := c.Deliver(testCtx(t), nil); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	ran := filepath.Join(root, "ran")
	p := agentproto.ExecParams{Command: "echo once >> " + ran + "; echo out; exit 3"}
	ar, err := c.StartAttached(testCtx(t), "step-1", agentproto.OpExec, p, time.Minute, 30*time.Second)
	if err != nil {
		t.Fatalf("StartAttached: %v", err)
	}
	if ar.Status.StepID != "step-1" || ar.Status.State != agentproto.StepDone || ar.Reply == nil {
		t.Fatalf("attached: %+v", ar)
	}
	res, err := agentproto.DecodeResult[agentproto.ExecResult](ar.Reply)
	if err != nil || res.ExitCode != 3 || res.StdoutTail != "out\n" {
		t.Fatalf("step's reply: %+v, %v", res, err)
	}
	st, err := c.StartDetached(testCtx(t), "step-1", agentproto.OpExec, p, time.Minute)
	if err != nil {
		t.Fatalf("StartDetached: %v", err)
	}
	if st.StepID != "step-1" || st.Started || st.State != agentproto.StepDone {
		t.Fatalf("started again: %+v, want the existing step's status", st)
	}
	if b, err := os.ReadFile(ran); err != nil || string(b) != "once\n" {
		t.Fatalf("the step ran %q (%v), want once", b, err)
	}
}
