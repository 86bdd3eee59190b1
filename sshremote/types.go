// Package sshremote is kongctl's SSH/SFTP transport: one connection per
// host, strict host keys, bastion chains, become, and cancellation by ctx.
package sshremote

import (
	"io"
	"time"
)

// HostKeyPolicy says how a server's host key is checked.
type HostKeyPolicy string

const (
	// HostKeyStrict accepts only keys found in known_hosts or pinned.
	HostKeyStrict HostKeyPolicy = "strict"
	// HostKeyAcceptNew records an unknown host's key in known_hosts, but
	// still refuses a changed one. Only when asked for explicitly.
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
	// HostKeyProbe accepts the ed25519 key the server presents, unchecked,
	// and keeps it for Client.HostKey; known_hosts is neither read nor
	// written. It is for a one-shot probe that proves the key another way
	// (the Vagrant inventory probe compares it with the machine's own
	// /etc/ssh/ssh_host_ed25519_key.pub, read over the same connection, as
	// `vagrant ssh` itself does not check host keys). Never an inventory
	// setting.
	HostKeyProbe HostKeyPolicy = "probe"
)

// Become says how commands are raised to root on the host.
type Become struct {
	Method   string // "sudo"
	User     string // target user, default root
	Password []byte // fed on stdin, never on a command line; nil = NOPASSWD
}

// Config is everything needed to reach one host. The controller builds it
// from the inventory; sshremote never reads the inventory itself.
type Config struct {
	Name            string // inventory name, used in errors
	Address         string
	Port            int
	User            string
	KeyFiles        []string
	Passphrase      func(keyFile string) ([]byte, error) // for encrypted keys
	UseAgent        bool                                 // SSH_AUTH_SOCK
	KnownHostsFiles []string
	HostKeyPolicy   HostKeyPolicy
	PinnedKeys      []string  // authorized_keys format, e.g. "ssh-ed25519 AAAA..."
	Jump            []*Config // bastion chain, outermost first
	SSHConfigFile   string    // ~/.ssh/config style file; "" = none
	ConnectTimeout  time.Duration
	Keepalive       time.Duration
	ConnectRetries  int
	Become          *Become

	// AgentSocket is the ssh-agent socket used when UseAgent is set;
	// "" means $SSH_AUTH_SOCK.
	AgentSocket string
	// RetryBackoff is the first pause between connect attempts; it doubles
	// (with jitter) up to 8s. Zero means 250ms.
	RetryBackoff time.Duration
	// Logf, if set, receives debug lines (retries, keepalive misses,
	// accept-new recordings). It never receives secrets.
	Logf func(format string, args ...any)
}

// RunRequest is one command to run on a host.
type RunRequest struct {
	Cmd    string    // a shell command line; never carries secrets
	Stdin  io.Reader // optional; secrets travel here
	Become bool      // wrap in the host's become method

	// Stdout and Stderr, if set, receive the command's output as it
	// arrives instead of it being collected in RunResult (unbounded: a
	// backup streamed to disk). A failed write closes the session.
	Stdout io.Writer
	Stderr io.Writer

	// MaxOutput bounds each collected stream (0: MaxOutputBytes). A
	// command writing more to stdout or stderr is killed and its session
	// closed as soon as it passes the limit; Run then fails with an
	// *OutputLimitError. Only the last StderrTailBytes of stderr are kept.
	MaxOutput int64
}

// RunResult is what a command did. A non-zero exit is not an error of Run.
type RunResult struct {
	Stdout   []byte
	Stderr   []byte // its last StderrTailBytes
	ExitCode int
	Signal   string // set when the command was killed by a signal (ExitCode is then 128+n)
	Duration time.Duration
}
