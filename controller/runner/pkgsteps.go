package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
)

// installDetached installs ref on host as detached step packageStepID:
// the package manager runs in its own session on the node and finishes
// even when this controller is killed or stops waiting (a second
// Ctrl-C). When the attempt ended on the node (its reply, a failure, or
// its runner lost), the journal records it, so that the next attempt
// runs under a new id; when only the wait ended (cancelled, timed out,
// the connection lost), the next call, in this run or a resumed one,
// re-attaches to the same step and never installs twice. A step whose
// runner died (the node rebooted mid-install) is installed again once,
// under the next id, after repairing what it left half-done.
func (e *engine) installDetached(ctx context.Context, kind string, key StepKey, host string, ref fleet.PackageRef, want string) error {
	for retried := false; ; retried = true {
		ref.StepID = e.packageStepID(kind, key, host)
		err := e.install(ctx, host, ref, want)
		if err == nil || ctx.Err() != nil || fleet.ConnectionLost(err) {
			return err
		}
		if jerr := e.journalStep(PhaseInstall, attemptKey(key), host, journal.Done, map[string]string{"step_id": ref.StepID}, nil); jerr != nil {
			return errors.Join(err, jerr)
		}
		if retried || !fleet.IsStepLost(err) {
			return err
		}
		e.find(Finding{Severity: SevWarning, Code: "install-lost", Host: host,
			Message: fmt.Sprintf("the install on %s (step %s) ended without a reply (its runner died): repairing the package database and installing again", host, ref.StepID)})
		if rerr := e.repairNode(ctx, host); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
}

// attemptKey journals that an attempt of key's detached step ended.
func attemptKey(key StepKey) StepKey { return StepKey("ended-attempt/" + string(key)) }

// packageStepID names the detached step of the current attempt of a
// package install on host (kind "install" for Y, "install-x" for X on
// rollback): the run, the host, and 1 + the attempts of key that ended.
func (e *engine) packageStepID(kind string, key StepKey, host string) string {
	return fmt.Sprintf("%s-%s-%s-%d", e.runID, kind, stepIDHost(host), 1+e.endedAttempts(key))
}

// endedAttempts counts the attempts of key's detached step that ended.
func (e *engine) endedAttempts(key StepKey) int {
	if e.j == nil {
		return 0
	}
	n := 0
	for _, r := range e.j.Records() {
		if r.Kind == "step" && r.Step == string(attemptKey(key)) && r.Status == journal.Done {
			n++
		}
	}
	return n
}

// stepIDHost is host as a part of a step id (agentproto.ValidStepID: at
// most 64 of [A-Za-z0-9._-]): other characters become '_', and a long
// name keeps its start and gains a hash of the whole.
func stepIDHost(host string) string {
	b := []byte(host)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) <= 20 {
		return string(b)
	}
	sum := sha256.Sum256([]byte(host))
	return string(b[:11]) + "-" + hex.EncodeToString(sum[:4])
}
