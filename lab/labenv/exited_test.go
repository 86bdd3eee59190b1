package labenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestExitedErrorSaysWhy: an "exited" error names how the process ended
// and quotes the last lines of its own stderr and of its log; with nothing
// written it says so instead of ending in an empty reason.
func TestExitedErrorSaysWhy(t *testing.T) {
	// A real process that fails the way nsenter does without sshd.
	cmd := exec.Command("/bin/sh", "-c", "echo 'nsenter: failed to execute /usr/sbin/sshd: No such file or directory' >&2; exit 127")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	waitErr := cmd.Run()

	err := exitedError("kong-1", "sshd", waitErr, stderr.String(), "")
	want := "host kong-1: sshd exited (exit status 127): nsenter: failed to execute /usr/sbin/sshd: No such file or directory"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err, want)
	}

	log := "line 1\nline 2\nline 3\nline 4\nline 5\n/etc/sshd_config line 3: Bad configuration option: Frobnicate\nterminating, 1 bad configuration options\n"
	err = exitedError("kong-2", "sshd", waitErr, "", log)
	want = "host kong-2: sshd exited (exit status 127): line 3; line 4; line 5; /etc/sshd_config line 3: Bad configuration option: Frobnicate; terminating, 1 bad configuration options"
	if err.Error() != want {
		t.Errorf("got  %q\nwant the last %d lines: %q", err, exitedLines, want)
	}

	err = exitedError("kong-3", "sshd", nil, " \n", "")
	if got := err.Error(); got != "host kong-3: sshd exited (exit status 0): it wrote nothing on stderr or to its log" {
		t.Errorf("empty reason: %q", got)
	}
	if strings.HasSuffix(err.Error(), ": ") {
		t.Errorf("reason is empty: %q", err)
	}
}
