package agent

import (
	"path/filepath"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
)

// A staged package's sha256 is remembered beside it (in the owner-only
// state directory) the way the agent remembers its own (cachedSHA256): an
// install that finds the file unchanged knows its content without reading
// it again (tens to hundreds of milliseconds for a real package, inside
// the downtime).

func stampPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".sha256")
}

// stampSum records sum as the content of path, staged and checked just
// now (best effort: without a stamp the install reads the file again).
func stampSum(path, sum string) {
	if key, err := fileKey(path); err == nil {
		rememberSHA256(path, stampPath(path), key, sum)
	}
}

// checkStagedSum verifies that path's content has the sha256 want: from
// its stamp when the file is the one staging hashed (fromStamp), else by
// reading it.
func (a *Agent) checkStagedSum(path, want string) (fromStamp bool, err error) {
	if filepath.Dir(path) == a.packagesDir() {
		if sum, ok := cachedSHA256(path, stampPath(path)); ok && sum == want {
			return true, nil
		}
	}
	sum, err := filehash.SHA256(path)
	if err != nil {
		return false, agentproto.Errorf(agentproto.CodeNotFound, "package file: %v", err)
	}
	if sum != want {
		return false, agentproto.Errorf(agentproto.CodeChecksumMismatch, "package %s has sha256 %s, want %s", path, sum, want)
	}
	return false, nil
}
