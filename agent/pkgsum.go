package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// sumStamp is the sha256 staging computed for a file under
// <state>/packages, with the file's identity when it was computed. An
// install that finds the same identity knows the content is unchanged
// without reading it again (tens to hundreds of milliseconds for a real
// package, inside the downtime): every write to the file moves its ctime,
// which no user can set back, and a replaced file has another inode. The
// stamp sits beside the file in the owner-only state directory.
type sumStamp struct {
	SHA256 string `json:"sha256"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime_ns"`
	Ctime  int64  `json:"ctime_ns"`
}

func stampPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".sha256")
}

// identity is the stamp of path without its sum.
func identity(path string) (sumStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return sumStamp{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sumStamp{}, os.ErrInvalid
	}
	return sumStamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, nil
}

// stampSum records sum as path's content (best effort: without a stamp
// the install reads the file again).
func stampSum(path, sum string) {
	s, err := identity(path)
	if err != nil {
		return
	}
	s.SHA256 = sum
	if b, err := json.Marshal(s); err == nil {
		_ = os.WriteFile(stampPath(path), b, 0o600)
	}
}

// checkStagedSum verifies that path's content has the sha256 want: from
// its stamp when the file is the one staging hashed (fromStamp), else by
// reading it.
func (a *Agent) checkStagedSum(path, want string) (fromStamp bool, err error) {
	if filepath.Dir(path) == a.packagesDir() {
		if b, err := os.ReadFile(stampPath(path)); err == nil {
			var s sumStamp
			now, err := identity(path)
			if json.Unmarshal(b, &s) == nil && err == nil && s.SHA256 == want {
				now.SHA256 = s.SHA256
				if now == s {
					return true, nil
				}
			}
		}
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return false, agentproto.Errorf(agentproto.CodeNotFound, "package file: %v", err)
	}
	if sum != want {
		return false, agentproto.Errorf(agentproto.CodeChecksumMismatch, "package %s has sha256 %s, want %s", path, sum, want)
	}
	return false, nil
}
