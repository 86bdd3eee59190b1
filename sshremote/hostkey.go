package sshremote

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyChecker verifies one host's key against known_hosts files and
// pinned keys. It is built afresh for every connection attempt (so keys
// recorded by accept-new are seen) and used by one handshake at a time.
type hostKeyChecker struct {
	label     string // "name (address:port)", for errors
	addr      string // address:port as dialed; the known_hosts lookup key
	policy    HostKeyPolicy
	files     []string // configured known_hosts files (existing or not)
	writeFile string   // where accept-new records keys: files[0]
	kh        ssh.HostKeyCallback
	caLines   map[string]bool // "file:line" of @cert-authority entries
	pinned    []ssh.PublicKey
	logf      func(string, ...any)

	verified  bool          // set once the callback accepted a key
	presented ssh.PublicKey // the key the callback accepted
}

func newHostKeyChecker(cfg *Config, label, addr string) (*hostKeyChecker, error) {
	h := &hostKeyChecker{label: label, addr: addr, policy: cfg.HostKeyPolicy, logf: cfg.Logf}
	switch h.policy {
	case "", HostKeyStrict, HostKeyAcceptNew:
	case HostKeyProbe:
		if len(cfg.PinnedKeys) > 0 || len(cfg.KnownHostsFiles) > 0 {
			return nil, fmt.Errorf("host key policy %q checks no key: give it no pinned keys and no known_hosts files", h.policy)
		}
		return h, nil
	default:
		return nil, fmt.Errorf("unknown host key policy %q (want %q or %q)", h.policy, HostKeyStrict, HostKeyAcceptNew)
	}
	for i, line := range cfg.PinnedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("pinned key %d: %w", i+1, err)
		}
		h.pinned = append(h.pinned, k)
	}
	h.files = cfg.KnownHostsFiles
	if len(h.files) == 0 && len(h.pinned) == 0 {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("default known_hosts: %w", err)
		}
		h.files = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	if len(h.files) > 0 {
		h.writeFile = h.files[0]
	}
	if err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

// load reads the known_hosts files that exist, remembering which lines are
// @cert-authority entries (knownhosts.KnownKey does not say).
func (h *hostKeyChecker) load() error {
	h.caLines = map[string]bool{}
	var existing []string
	for _, f := range h.files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read known_hosts: %w", err)
		}
		existing = append(existing, f)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "@cert-authority") {
				h.caLines[fmt.Sprintf("%s:%d", f, n)] = true
			}
		}
	}
	h.kh = nil
	if len(existing) > 0 {
		kh, err := knownhosts.New(existing...)
		if err != nil {
			return fmt.Errorf("read known_hosts: %w", err)
		}
		h.kh = kh
	}
	return nil
}

var throwawayKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
})

// placeholderAddr stands in for the remote address when asking the
// known_hosts database what it has recorded; the hostname takes precedence.
var placeholderAddr = &net.TCPAddr{IP: net.IPv4zero}

// recorded returns the known_hosts entries for the host, by asking the
// callback about a throwaway key and reading KeyError.Want.
func (h *hostKeyChecker) recorded() []knownhosts.KnownKey {
	if h.kh == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := h.kh(h.addr, placeholderAddr, throwawayKey()); errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

func (h *hostKeyChecker) isCA(k knownhosts.KnownKey) bool {
	return h.caLines[fmt.Sprintf("%s:%d", k.Filename, k.Line)]
}

var (
	certAlgos = []string{
		ssh.CertAlgoED25519v01,
		ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
		ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01,
	}
	plainAlgos = []string{
		ssh.KeyAlgoED25519,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
	}
)

// algosForKeyType lists the host key algorithms that make a server present
// a key of the given type.
func algosForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

// algorithms orders ClientConfig.HostKeyAlgorithms so that the server
// presents a key type we have on record: pinned and known_hosts types
// first, certificate algorithms first of all when a @cert-authority entry
// covers the host, then the remaining plain algorithms. Certificate
// algorithms are left out when no CA covers the host, since an untrusted
// certificate would be refused rather than checked as a plain key.
func (h *hostKeyChecker) algorithms() []string {
	if h.policy == HostKeyProbe {
		return []string{ssh.KeyAlgoED25519}
	}
	var out []string
	ca := false
	for _, k := range h.pinned {
		out = append(out, algosForKeyType(k.Type())...)
	}
	for _, w := range h.recorded() {
		if h.isCA(w) {
			ca = true
			continue
		}
		out = append(out, algosForKeyType(w.Key.Type())...)
	}
	if ca {
		out = append(slices.Clone(certAlgos), out...)
	}
	out = append(out, plainAlgos...)
	// Drop duplicates, keeping the first occurrence.
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(a string) bool {
		if seen[a] {
			return true
		}
		seen[a] = true
		return false
	})
}

func fingerprint(k ssh.PublicKey) string {
	if c, ok := k.(*ssh.Certificate); ok {
		return fmt.Sprintf("%s (certificate signed by %s)", ssh.FingerprintSHA256(c.Key), ssh.FingerprintSHA256(c.SignatureKey))
	}
	return ssh.FingerprintSHA256(k)
}

func plainKey(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

// check is the ssh.HostKeyCallback.
func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if err := h.checkKey(remote, key); err != nil {
		return err
	}
	h.presented = key
	return nil
}

func (h *hostKeyChecker) checkKey(remote net.Addr, key ssh.PublicKey) error {
	if h.policy == HostKeyProbe {
		h.verified = true
		return nil
	}
	if len(h.pinned) > 0 {
		pk := plainKey(key).Marshal()
		match := slices.ContainsFunc(h.pinned, func(p ssh.PublicKey) bool { return bytes.Equal(p.Marshal(), pk) })
		if !match {
			e := &HostKeyMismatchError{Host: h.label, Got: fingerprint(key), Source: []string{"pinned keys"}}
			for _, p := range h.pinned {
				e.Want = append(e.Want, ssh.FingerprintSHA256(p))
			}
			return e
		}
		// A pinned key wins over an unknown host, but known_hosts still
		// gets a say: a recorded, different key is a mismatch.
		if h.kh != nil {
			err := h.kh(h.addr, remote, key)
			var ke *knownhosts.KeyError
			if err != nil && !(errors.As(err, &ke) && len(ke.Want) == 0) {
				return h.classify(key, err)
			}
		}
		h.verified = true
		return nil
	}

	var err error = &knownhosts.KeyError{}
	if h.kh != nil {
		err = h.kh(h.addr, remote, key)
	}
	if err == nil {
		h.verified = true
		return nil
	}
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) == 0 {
		if h.policy != HostKeyAcceptNew {
			return &HostKeyUnknownError{Host: h.label, Got: fingerprint(key), Files: h.files}
		}
		if err := h.record(key); err != nil {
			return err
		}
		h.verified = true
		return nil
	}
	return h.classify(key, err)
}

// classify turns a known_hosts refusal into a typed, fatal error.
func (h *hostKeyChecker) classify(key ssh.PublicKey, err error) error {
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) > 0 {
		e := &HostKeyMismatchError{Host: h.label, Got: fingerprint(key)}
		for _, w := range ke.Want {
			fp := ssh.FingerprintSHA256(w.Key)
			if h.isCA(w) {
				fp += " (cert-authority)"
			}
			e.Want = append(e.Want, fp)
			e.Source = append(e.Source, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		return e
	}
	return &fatalError{fmt.Errorf("host key for %s (%s) refused: %w", h.label, fingerprint(key), err)}
}

// acceptNewMu serialises accept-new writers inside this process; flock
// serialises them across processes.
var acceptNewMu sync.Mutex

// record appends an unknown host's key to the first known_hosts file,
// under a lock, re-checking the file first in case another writer
// recorded the host meanwhile.
func (h *hostKeyChecker) record(key ssh.PublicKey) error {
	if h.writeFile == "" {
		return &fatalError{fmt.Errorf("accept-new for %s: no known_hosts file to write", h.label)}
	}
	acceptNewMu.Lock()
	defer acceptNewMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(h.writeFile), 0o700); err != nil {
		return &fatalError{fmt.Errorf("accept-new for %s: %w", h.label, err)}
	}
	f, err := os.OpenFile(h.writeFile, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return &fatalError{fmt.Errorf("accept-new for %s: %w", h.label, err)}
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return &fatalError{fmt.Errorf("accept-new for %s: lock %s: %w", h.label, h.writeFile, err)}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	// Someone may have recorded the host since we read the files.
	if err := h.load(); err != nil {
		return &fatalError{err}
	}
	if h.kh != nil {
		err := h.kh(h.addr, placeholderAddr, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0:
		default:
			return h.classify(key, err)
		}
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(h.addr)}, plainKey(key)) + "\n"
	// Make sure we start on a fresh line.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		return &fatalError{fmt.Errorf("accept-new for %s: write %s: %w", h.label, h.writeFile, err)}
	}
	if h.logf != nil {
		h.logf("ssh %s: recorded new host key %s in %s", h.label, fingerprint(key), h.writeFile)
	}
	return nil
}
