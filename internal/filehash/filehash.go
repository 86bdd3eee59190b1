// Package filehash is kongctl's one file checksum: the hex SHA-256 of a
// file's bytes, as sha256sum prints it. Standard library only (the agent
// uses it).
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// SHA256 returns the lowercase hex SHA-256 of the file at path, read as a
// stream. Errors name the file and the operation.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
