package inventory

import (
	"bytes"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/hashicorp/hcl/v2"
)

// decodeBackupCrypt reads backup { encrypt_to, recipients_file,
// identity_file }: every recipient must parse as an age recipient and the
// identity file must hold age identities, each checked when the inventory
// is loaded, at the value that names it. A secret key pasted in the
// wrong place, or a file's lines, are never echoed (age's own errors do
// not echo what is not an "age1" value either).
func (d *decoder) decodeBackupCrypt(b *Backup, a hcl.Attributes) {
	if at, ok := a["encrypt_to"]; ok {
		if list, ok := d.strList(at); ok {
			elems, _ := hcl.ExprList(at.Expr)
			for i, r := range list {
				rng := at.Expr.Range()
				if i < len(elems) && len(elems) == len(list) {
					rng = elems[i].Range()
				}
				if d.recipient(r, rng) {
					b.EncryptTo = append(b.EncryptTo, strings.TrimSpace(r))
				}
			}
			if len(list) == 0 {
				d.errorf(at.Expr.Range(), "No age recipients", "backup.encrypt_to is empty: list the age recipients (\"age1...\", `age-keygen -y KEYFILE` prints one) the backup is encrypted to, or remove the argument to keep backups in clear.")
			}
		}
	}
	if at, ok := a["recipients_file"]; ok {
		if p, ok := d.path(at); ok {
			b.EncryptTo = append(b.EncryptTo, d.recipientsFile(p, at.Expr.Range())...)
		}
	}
	if at, ok := a["identity_file"]; ok {
		if p, ok := d.path(at); ok && d.identityFile(p, at.Expr.Range()) {
			b.IdentityFile = p
		}
	}
}

// recipient checks one age recipient.
func (d *decoder) recipient(r string, rng hcl.Range) bool {
	r = strings.TrimSpace(r)
	if strings.HasPrefix(strings.ToUpper(r), "AGE-SECRET-KEY-") {
		d.errorf(rng, "Secret key in encrypt_to", "This is an age secret key (an identity), not a recipient: remove it from the inventory at once and list its public key instead (`age-keygen -y KEYFILE` prints it).")
		return false
	}
	if _, err := age.ParseRecipients(strings.NewReader(r)); err != nil {
		d.errorf(rng, "Invalid age recipient", "backup.encrypt_to takes age recipients such as \"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\" (`age-keygen -y KEYFILE` prints one): this value is not one (%s).", stripLine(err))
		return false
	}
	return true
}

// recipientsFile reads a file of age recipients, one a line, "#"
// comments, as age -R reads it.
func (d *decoder) recipientsFile(p string, rng hcl.Range) []string {
	raw, ok := d.readFile(p, rng, "Recipients file unreadable")
	if !ok {
		return nil
	}
	if _, err := age.ParseRecipients(bytes.NewReader(raw)); err != nil {
		d.errorf(rng, "Invalid recipients file", "%s must hold age recipients (\"age1...\"), one a line: %s.", p, err)
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// identityFile checks that p holds age identities; it never echoes them.
func (d *decoder) identityFile(p string, rng hcl.Range) bool {
	raw, ok := d.readFile(p, rng, "Identity file unreadable")
	if !ok {
		return false
	}
	if _, err := age.ParseIdentities(bytes.NewReader(raw)); err != nil {
		d.errorf(rng, "Invalid identity file", "%s must hold age identities (\"AGE-SECRET-KEY-1...\", from age-keygen): %s.", p, err)
		return false
	}
	if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
		d.warnf(rng, "Identity file readable by others", "%s is mode %04o: the key in it decrypts every backup; make it owner-only (chmod 600).", p, st.Mode().Perm())
	}
	return true
}

// stripLine drops age's "error at line 1: " prefix of a one-line parse.
func stripLine(err error) string {
	return strings.TrimPrefix(err.Error(), "error at line 1: ")
}

// readFile reads a file an attribute names, or reports summary at rng.
func (d *decoder) readFile(p string, rng hcl.Range, summary string) ([]byte, bool) {
	raw, err := os.ReadFile(p)
	if err != nil {
		d.errorf(rng, summary, "Cannot read %s: %s.", p, unwrapPathErr(err))
		return nil, false
	}
	return raw, true
}
