package inventory

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// checkKeyringExport refuses, when the inventory is loaded, a
// keyring_export_file that is missing, unreadable or not what Kong's
// POST /keyring/export answers ({"data": "<base64>"}). Its content is
// never shown: it holds the keyring, encrypted to keyring_public_key.
func (d *decoder) checkKeyringExport(path string, rng hcl.Range) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		d.errorf(rng, "Keyring export file not found", "There is no file at %s. Save the body of the Admin API's POST /keyring/export there, mode 0600.", path)
		return
	}
	b, ok := d.readFile(path, rng, "Keyring export file unreadable")
	if !ok {
		return
	}
	var v struct {
		Data string `json:"data"`
	}
	if json.Unmarshal(b, &v) != nil || v.Data == "" {
		d.errorf(rng, "Not a keyring export", "%s is not the body of POST /keyring/export (a JSON object with a non-empty \"data\").", path)
	}
}
