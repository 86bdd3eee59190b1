package inventory

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// The dual-cluster's target database on another PostgreSQL server:
//
//	target_database = { host = "10.0.0.6", port = 5432, name = "kong_y", user = "kong_y", password_env = "PG_Y" }
//
// The object takes the database block's attributes but schema and
// tools_host (Kong's schema is the dump's; the tools host restores it);
// what it omits comes from the database block (validateTargetServer).

// targetServerKeys are the attributes of target_database's object form.
var targetServerKeys = []string{"host", "port", "name", "user", "tls_mode", "password", "password_env", "password_file", "ca_file"}

// decodeTargetObject reads target_database written as an object. ok is
// false when it is not one (the string form).
func (d *decoder) decodeTargetObject(at *hcl.Attribute) (*Database, bool) {
	pairs, diags := hcl.ExprMap(at.Expr)
	if diags.HasErrors() {
		return nil, false
	}
	t := &Database{DeclRange: at.Expr.Range(), Ranges: map[string]hcl.Range{}}
	attrs := hcl.Attributes{}
	for _, kv := range pairs {
		name := hcl.ExprAsKeyword(kv.Key)
		if name == "" {
			if v, diags := kv.Key.Value(d.ctx); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
				name = v.AsString()
			}
		}
		if !slices.Contains(targetServerKeys, name) {
			d.errorf(kv.Key.Range(), "Unsupported target_database attribute",
				"target_database on another server takes %s; not %q.%s", strings.Join(targetServerKeys, ", "), name, didYouMean(name, targetServerKeys))
			continue
		}
		attrs[name] = &hcl.Attribute{Name: name, Expr: kv.Value, Range: hcl.RangeBetween(kv.Key.Range(), kv.Value.Range()), NameRange: kv.Key.Range()}
	}
	d.databaseAttrs(attrs, t, "target database password")
	return t, true
}

// validateTargetServer completes the target's object from the database
// block (what it omits: host, port, user, password reference, tls_mode,
// ca_file; Kong's schema always) and refuses one without a name or that
// is X's own database.
func (d *decoder) validateTargetServer(inv *Inventory) {
	u, db := inv.Upgrade, inv.Database
	t := u.TargetServer
	if t == nil || db == nil {
		return
	}
	if _, ok := t.Ranges["name"]; !ok {
		d.errorf(t.DeclRange, "Target database without a name",
			"target_database on another server needs name, the new database Y runs on (e.g. name = \"kong_y\").")
		u.TargetDatabase = ""
		return
	}
	inherit := func(key string, dst *string, v string) {
		if _, ok := t.Ranges[key]; !ok {
			*dst = v
		}
	}
	inherit("host", &t.Host, db.Host)
	inherit("user", &t.User, db.User)
	inherit("tls_mode", &t.TLSMode, db.TLSMode)
	inherit("ca_file", &t.CAFile, db.CAFile)
	if _, ok := t.Ranges["port"]; !ok {
		t.Port = db.Port
	}
	if _, env := t.Ranges["password_env"]; !env {
		if _, file := t.Ranges["password_file"]; !file {
			t.Secret = db.Secret
		}
	}
	t.Schema = db.Schema
	if u.TargetOnXServer(db) && t.Name == db.Name {
		d.errorf(t.Ranges["name"], "Target database is X's",
			"target_database names %s:%d/%s, the database X runs on (the database block); Y needs a new one, on another server or under another name.", t.Host, t.Port, t.Name)
		if u.ReplaceTargetDatabase {
			d.errorf(u.Ranges["replace_target_database"], "Replacing X's database",
				"replace_target_database would drop %q, the database X runs on: kongctl never replaces X's database. Name a new target_database.", db.Name)
		}
	}
}

// TargetOnXServer reports whether the dual-cluster's target database is
// on X's PostgreSQL server (db): the string form, or an object naming
// X's host and port.
func (u *Upgrade) TargetOnXServer(db *Database) bool {
	t := u.TargetServer
	return t == nil || db == nil || (strings.EqualFold(t.Host, db.Host) && t.Port == db.Port)
}

// targetServerValue is the target's object as show writes it: what
// loads back to the same target (passwords by reference only).
func targetServerValue(t *Database) cty.Value {
	m := map[string]cty.Value{
		"host": cty.StringVal(t.Host), "port": cty.NumberIntVal(int64(t.Port)), "name": cty.StringVal(t.Name),
		"user": cty.StringVal(t.User), "tls_mode": cty.StringVal(t.TLSMode),
	}
	for k, v := range map[string]string{"ca_file": t.CAFile, "password_env": t.Secret.Env, "password_file": t.Secret.File} {
		if v != "" {
			m[k] = cty.StringVal(v)
		}
	}
	return cty.ObjectVal(m)
}
