package sshremote

import (
	"errors"
	"fmt"
	"strings"
)

// HostKeyMismatchError is returned when a host presents a key that differs
// from every key recorded for it (known_hosts or pinned). It may mean a
// man-in-the-middle; it is never retried.
type HostKeyMismatchError struct {
	Host string   // "name (address:port)"
	Want []string // SHA256 fingerprints of the recorded keys (or CAs)
	Got  string   // SHA256 fingerprint of the key the server presented
	// Source says where the recorded keys came from, e.g.
	// "/root/.ssh/known_hosts:3" or "pinned".
	Source []string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: server presented %s, expected %s (from %s); refusing to connect",
		e.Host, e.Got, strings.Join(e.Want, " or "), strings.Join(e.Source, ", "))
}

// HostKeyUnknownError is returned under HostKeyStrict when no key is
// recorded for the host. It is never retried.
type HostKeyUnknownError struct {
	Host  string // "name (address:port)"
	Got   string // SHA256 fingerprint of the key the server presented
	Files []string
}

func (e *HostKeyUnknownError) Error() string {
	files := "no known_hosts file"
	if len(e.Files) > 0 {
		files = strings.Join(e.Files, ", ")
	}
	return fmt.Sprintf("host key for %s is unknown (server presented %s; not in %s); add it to known_hosts or pin it in the inventory",
		e.Host, e.Got, files)
}

// AuthError is returned when the server rejected every authentication
// method offered. It is never retried.
type AuthError struct {
	User    string
	Methods []string // what was offered: "publickey (N keys)", "agent"
	Err     error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication as %q failed (offered %s): %v", e.User, strings.Join(e.Methods, ", "), e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// fatalError marks an error that the connect retry loop must not retry.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// IsFatal reports whether err must not be retried: a host key that is
// unknown or does not match, or authentication that failed.
func IsFatal(err error) bool {
	var f *fatalError
	var m *HostKeyMismatchError
	var u *HostKeyUnknownError
	var a *AuthError
	return errors.As(err, &f) || errors.As(err, &m) || errors.As(err, &u) || errors.As(err, &a)
}
