package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// selfHashFile caches the SHA-256 of the agent's own executable in the state
// directory, so that the check every request makes (agentproto
// Request.AgentSHA256) does not read the whole binary again on each call.
const selfHashFile = "self-sha256"

// selfSHA256 returns the SHA-256 of a.Exe. The cache is keyed by the file's
// device, inode, size, mtime and ctime: any write, rename over or chmod of
// the executable changes its ctime (which only the kernel sets), so a
// replaced or modified binary is always hashed again.
func (a *Agent) selfSHA256() (string, error) {
	key, err := fileKey(a.Exe)
	if err != nil {
		return fileSHA256(a.Exe)
	}
	cache := filepath.Join(a.StateDir, selfHashFile)
	if b, err := os.ReadFile(cache); err == nil {
		if k, sum, ok := strings.Cut(strings.TrimSpace(string(b)), " sha256="); ok && k == key && len(sum) == 64 {
			return sum, nil
		}
	}
	sum, err := fileSHA256(a.Exe)
	if err != nil {
		return "", err
	}
	// Still the same file after hashing: keep it (best effort; a state
	// directory that cannot be written only costs the next call a hash).
	if k2, err := fileKey(a.Exe); err == nil && k2 == key {
		if tmp, err := os.CreateTemp(a.StateDir, selfHashFile+".*"); err == nil {
			_, werr := fmt.Fprintf(tmp, "%s sha256=%s\n", key, sum)
			if cerr := tmp.Close(); werr == nil && cerr == nil {
				werr = os.Rename(tmp.Name(), cache)
			}
			if werr != nil {
				os.Remove(tmp.Name())
			}
		}
	}
	return sum, nil
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
