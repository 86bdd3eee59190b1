package sshremote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/term"
)

// PassphraseEnv is the environment variable DefaultPassphrase reads first.
const PassphraseEnv = "KONGCTL_SSH_PASSPHRASE"

// DefaultPassphrase returns a Config.Passphrase callback that takes the
// passphrase from $KONGCTL_SSH_PASSPHRASE or, failing that, prompts on the
// controlling terminal (/dev/tty) without echo. Answers are remembered per
// key file, so a fleet dialled with one encrypted key prompts once. The
// returned func is safe for concurrent use.
func DefaultPassphrase() func(keyFile string) ([]byte, error) {
	var mu sync.Mutex
	cache := map[string][]byte{}
	return func(keyFile string) ([]byte, error) {
		if p, ok := os.LookupEnv(PassphraseEnv); ok {
			return []byte(p), nil
		}
		mu.Lock() // one prompt at a time
		defer mu.Unlock()
		if p, ok := cache[keyFile]; ok {
			return p, nil
		}
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("key %s is encrypted; set %s or run from a terminal: %w", keyFile, PassphraseEnv, err)
		}
		defer tty.Close()
		if !term.IsTerminal(int(tty.Fd())) {
			return nil, fmt.Errorf("key %s is encrypted; set %s or run from a terminal", keyFile, PassphraseEnv)
		}
		fmt.Fprintf(tty, "Enter passphrase for key %s: ", keyFile)
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return nil, fmt.Errorf("read passphrase for %s: %w", keyFile, err)
		}
		cache[keyFile] = p
		return p, nil
	}
}

// defaultPassphrase is used when Config.Passphrase is nil; shared so a
// terminal prompt happens once per key file per process.
var defaultPassphrase = sync.OnceValue(DefaultPassphrase)

// loadKey reads one private key file, asking for a passphrase if it is
// encrypted. Errors here are configuration errors and never retried.
func loadKey(path string, passphrase func(string) ([]byte, error)) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			passphrase = defaultPassphrase()
		}
		p, perr := passphrase(path)
		if perr != nil {
			return nil, fmt.Errorf("key %s: %w", path, perr)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(data, p)
		clear(p)
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return s, nil
}

// authSetup is what one hop authenticates with.
type authSetup struct {
	methods []ssh.AuthMethod
	offered []string // for AuthError
	agent   net.Conn // closed after the handshake
}

func (a *authSetup) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// setupAuth loads key files and connects to the agent. Key files come
// first: they are what the inventory asked for.
func setupAuth(cfg *Config) (*authSetup, error) {
	a := &authSetup{}
	var signers []ssh.Signer
	for _, f := range cfg.KeyFiles {
		s, err := loadKey(f, cfg.Passphrase)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		a.offered = append(a.offered, fmt.Sprintf("publickey (%d key files)", len(signers)))
	}
	var agentSigners func() ([]ssh.Signer, error)
	if cfg.UseAgent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock == "" {
			if len(signers) == 0 {
				return nil, errors.New("agent requested but SSH_AUTH_SOCK is not set and no key files are configured")
			}
		} else {
			conn, err := net.Dial("unix", sock)
			switch {
			case err != nil && len(signers) == 0:
				return nil, fmt.Errorf("connect to ssh-agent: %w", err)
			case err != nil:
				if cfg.Logf != nil {
					cfg.Logf("ssh %s: ssh-agent unavailable, using key files only: %v", cfg.Name, err)
				}
			default:
				a.agent = conn
				agentSigners = agent.NewClient(conn).Signers
				a.offered = append(a.offered, "ssh-agent")
			}
		}
	}
	if len(signers) == 0 && agentSigners == nil {
		return nil, errors.New("no authentication method: set key files or use the ssh-agent")
	}
	a.methods = []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		all := signers
		if agentSigners != nil {
			as, err := agentSigners()
			if err != nil && len(all) == 0 {
				return nil, fmt.Errorf("ssh-agent: %w", err)
			}
			all = append(slices.Clone(all), as...)
		}
		return all, nil
	})}
	return a, nil
}

// isAuthFailure reports whether a handshake error is the server refusing
// our credentials. x/crypto/ssh has no typed error for it, so this matches
// the message of ssh.ClientConfig's auth loop, and only after the host key
// was verified (so the failure cannot be a network one during key exchange).
func isAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "ssh: unable to authenticate")
}
