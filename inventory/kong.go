package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// Kong says how kongctl talks to Kong's Admin API on the nodes.
type Kong struct {
	// AdminToken is where the Admin API token is (admin_token_env or
	// admin_token_file), never the token: sent as Kong-Admin-Token on
	// Enterprise nodes with RBAC enforced (kong-reference 9.1). The zero
	// Secret means no token.
	AdminToken Secret
	// TokenRange is the admin_token_* attribute, for diagnostics.
	TokenRange hcl.Range
	// KeyringExport is an Enterprise keyring export taken beforehand
	// (keyring_export_file: the body of POST /keyring/export), restored
	// on the nodes after they restart; "" lets kongctl take one
	// (keyring.go).
	KeyringExport      string
	KeyringExportRange hcl.Range
}

var kongSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "admin_token"}, {Name: "admin_token_env"}, {Name: "admin_token_file"}, {Name: "keyring_export_file"}},
}

// AdminToken reads the Admin API token; nil, nil when none is configured.
func (inv *Inventory) AdminToken() ([]byte, error) {
	if inv.Kong == nil || inv.Kong.AdminToken.IsZero() {
		return nil, nil
	}
	tok, err := inv.Kong.AdminToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if len(bytes.TrimSpace(tok)) == 0 {
		return nil, fmt.Errorf("admin token (%s) is empty", inv.Kong.AdminToken)
	}
	return bytes.TrimSpace(tok), nil
}

func (d *decoder) decodeKong(block *hcl.Block) *Kong {
	k := &Kong{}
	c := d.content(block.Body, kongSchema)
	if at, ok := c.Attributes["admin_token"]; ok {
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Inline admin token not allowed",
			Detail:   "The Admin API token must not be written into the inventory. Use admin_token_env = \"NAME\" to read it from an environment variable, or admin_token_file = \"path\" to read it from a file (relative to the inventory).",
			Subject:  at.Range.Ptr(),
			Extra:    secretSource(at.Expr.Range()),
		})
	}
	env, hasEnv := c.Attributes["admin_token_env"]
	file, hasFile := c.Attributes["admin_token_file"]
	switch {
	case hasEnv && hasFile:
		d.errorf(file.NameRange, "Conflicting admin token references",
			"Set either admin_token_env or admin_token_file, not both (admin_token_env is at %s).", posString(env.NameRange))
	case hasEnv:
		if v, ok := d.nonEmpty(env); ok {
			k.AdminToken.Env, k.TokenRange = v, env.Expr.Range()
		}
	case hasFile:
		if v, ok := d.path(file); ok {
			k.AdminToken.File, k.TokenRange = v, file.Expr.Range()
			d.checkTokenFile(v, file.Expr.Range())
		}
	}
	if at, ok := c.Attributes["keyring_export_file"]; ok {
		if v, ok := d.path(at); ok {
			k.KeyringExport, k.KeyringExportRange = v, at.Expr.Range()
			d.checkKeyringExport(v, at.Expr.Range())
		}
	}
	return k
}

// checkTokenFile refuses a token file that is missing, unreadable or
// empty when the inventory is loaded, at the attribute that names it: a
// run must not find out on the first Admin API call.
func (d *decoder) checkTokenFile(path string, rng hcl.Range) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.errorf(rng, "Admin token file not found", "There is no file at %s. Write the Admin API token (Kong-Admin-Token) there, mode 0600.", path)
	case err != nil:
		d.errorf(rng, "Admin token file unreadable", "Cannot read %s: %s.", path, unwrapPathErr(err))
	case len(bytes.TrimSpace(b)) == 0:
		d.errorf(rng, "Admin token file empty", "%s is empty: it must hold the Admin API token (Kong-Admin-Token).", path)
	}
}

// unwrapPathErr is the reason of a *fs.PathError without the path again.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
