package inventory

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// Secret is a reference to a secret, never the secret itself: the name of
// an environment variable or the path of a file. Resolve reads it at run
// time. The zero Secret means "no secret".
type Secret struct {
	Env  string // environment variable name
	File string // absolute path of a file holding the secret
}

// IsZero reports whether no secret is configured.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" }

// String describes the reference, never the value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	}
	return "none"
}

// Resolve reads the secret. A file's trailing newline is dropped. The zero
// Secret resolves to nil, nil.
func (s Secret) Resolve() ([]byte, error) {
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return nil, fmt.Errorf("read secret: environment variable %s is not set", s.Env)
		}
		return []byte(v), nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		return bytes.TrimRight(b, "\r\n"), nil
	}
	return nil, nil
}

// decodeSecret reads password_env / password_file from attrs and rejects
// an inline password.
func (d *decoder) decodeSecret(attrs hcl.Attributes, what string) Secret {
	var s Secret
	if at, ok := attrs["password"]; ok {
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Inline password not allowed",
			Detail:   fmt.Sprintf("The %s must not be written into the inventory. Use password_env = \"NAME\" to read it from an environment variable, or password_file = \"path\" to read it from a file (relative to the inventory).", what),
			Subject:  at.Range.Ptr(),
			Extra:    secretSource(at.Expr.Range()),
		})
	}
	env, hasEnv := attrs["password_env"]
	file, hasFile := attrs["password_file"]
	if hasEnv && hasFile {
		d.errorf(file.NameRange, "Conflicting password references",
			"Set either password_env or password_file for the %s, not both (password_env is at %s).", what, posString(env.NameRange))
		return s
	}
	if hasEnv {
		if v, ok := d.nonEmpty(env); ok {
			s.Env = v
		}
	}
	if hasFile {
		if v, ok := d.path(file); ok {
			s.File = v
		}
	}
	return s
}

// secretSource marks a diagnostic whose source holds a secret; renderers
// (hcl/diagrender) mask the range in snippets.
type secretSource hcl.Range

// SecretRange returns the range to mask.
func (s secretSource) SecretRange() hcl.Range { return hcl.Range(s) }
