package labenv

import (
	"fmt"
	"strings"
)

// exitedLines is how many of a process's last lines an "exited" error
// quotes from each of its outputs.
const exitedLines = 5

// exitedError says why a lab process ended before it was ready, never with
// an empty reason: how it ended (waitErr from Wait, nil = exit status 0)
// and the last lines of each of its outputs (its own stderr, then its log),
// e.g. `host kong-1: sshd exited (exit status 127): nsenter: failed to
// execute /usr/sbin/sshd: No such file or directory`.
func exitedError(host, what string, waitErr error, outputs ...string) error {
	how := "exit status 0"
	if waitErr != nil {
		how = waitErr.Error()
	}
	var said []string
	for _, o := range outputs {
		if t := lastLines(o, exitedLines); t != "" {
			said = append(said, t)
		}
	}
	if len(said) == 0 {
		said = []string{"it wrote nothing on stderr or to its log"}
	}
	return fmt.Errorf("host %s: %s exited (%s): %s", host, what, how, strings.Join(said, "; "))
}

// lastLines returns the last n non-empty lines of s, joined with "; ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
