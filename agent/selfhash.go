package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kongctl/kongctl/internal/filehash"
)

// selfHashFile caches the SHA-256 of the agent's own executable in the state
// directory, so that the check every request makes (agentproto
// Request.AgentSHA256) does not read the whole binary again on each call.
const selfHashFile = "self-sha256"

// selfSHA256 returns the SHA-256 of a.Exe, from its cache (cachedSHA256)
// while the executable is the file it was taken of.
func (a *Agent) selfSHA256() (string, error) {
	cache := filepath.Join(a.StateDir, selfHashFile)
	if sum, ok := cachedSHA256(a.Exe, cache); ok {
		return sum, nil
	}
	key, kerr := fileKey(a.Exe)
	sum, err := filehash.SHA256(a.Exe)
	if err != nil {
		return "", err
	}
	if kerr == nil {
		rememberSHA256(a.Exe, cache, key, sum)
	}
	return sum, nil
}

// cachedSHA256 returns the SHA-256 that cache remembers for path, when path
// is still the very file it was taken of. A cache is keyed by fileKey: any
// write, rename over or chmod of the file changes its ctime (which only
// the kernel sets), so a replaced or modified file is never trusted.
func cachedSHA256(path, cache string) (string, bool) {
	key, err := fileKey(path)
	if err != nil {
		return "", false
	}
	b, err := os.ReadFile(cache)
	if err != nil {
		return "", false
	}
	k, sum, ok := strings.Cut(strings.TrimSpace(string(b)), " sha256=")
	if !ok || k != key || len(sum) != 64 {
		return "", false
	}
	return sum, true
}

// rememberSHA256 writes sum as path's SHA-256 into cache (0600), keyed by
// key, the fileKey taken before sum was computed: only while path is
// still that file. Best effort: without a cache the next reader hashes.
func rememberSHA256(path, cache, key, sum string) {
	if now, err := fileKey(path); err != nil || now != key {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(cache), filepath.Base(cache)+".*")
	if err != nil {
		return
	}
	_, werr := fmt.Fprintf(tmp, "%s sha256=%s\n", key, sum)
	if cerr := tmp.Close(); werr == nil && cerr == nil {
		werr = os.Rename(tmp.Name(), cache)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
}

// fileKey names one version of a file: path, device, inode, size, mtime and
// ctime (nanoseconds).
func fileKey(path string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s dev=%d ino=%d size=%d mtime=%d.%09d ctime=%d.%09d", path, st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), nil
}
