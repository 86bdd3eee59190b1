package inventory

import (
	"crypto/x509"
	"encoding/pem"

	"github.com/hashicorp/hcl/v2"
)

// TLS modes for the database connection, as libpq's sslmode.
var tlsModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// Database is the PostgreSQL database Kong uses.
type Database struct {
	Host      string // as the Kong nodes reach it
	Port      int
	Name      string
	User      string
	Schema    string
	TLSMode   string // libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full
	Secret    Secret // where the password is; never the password
	ToolsHost string // name of the host that runs pg_dump/pg_restore ("" = default, see Inventory.ToolsHost)
	// CAFile is the PEM file on the bastion of the CA that signed the
	// server's certificate (database.ca_file): sent to the tools host for
	// kongctl's own connections ("" = libpq's default, ~/.postgresql/root.crt).
	CAFile string

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range // attribute name -> its value's range
}

// Password reads the database password from its reference (environment
// variable or file) at run time. No reference means no password (nil, nil).
func (db *Database) Password() ([]byte, error) { return db.Secret.Resolve() }

var databaseSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "host"},
		{Name: "port"},
		{Name: "name"},
		{Name: "user"},
		{Name: "schema"},
		{Name: "tls_mode"},
		{Name: "password"},
		{Name: "password_env"},
		{Name: "password_file"},
		{Name: "tools_host"},
		{Name: "ca_file"},
	},
}

func (d *decoder) decodeDatabase(block *hcl.Block) *Database {
	db := &Database{Port: 5432, Name: "kong", User: "kong", Schema: "public", TLSMode: "prefer",
		DeclRange: block.DefRange, Ranges: map[string]hcl.Range{}}
	c := d.content(block.Body, databaseSchema)
	d.databaseAttrs(c.Attributes, db, "database password")
	return db
}

// databaseAttrs reads a database's attributes into db (its defaults set):
// the database block's, and the dual-cluster target's object
// (targetdb.go). what names the password in diagnostics.
func (d *decoder) databaseAttrs(a hcl.Attributes, db *Database, what string) {
	for name, at := range a {
		db.Ranges[name] = at.Expr.Range()
	}
	for name, dst := range map[string]*string{"host": &db.Host, "name": &db.Name, "user": &db.User, "schema": &db.Schema, "tools_host": &db.ToolsHost} {
		if at, ok := a[name]; ok {
			if v, ok := d.nonEmpty(at); ok {
				*dst = v
			}
		}
	}
	setAttr(a, "port", &db.Port, d.intIn(1, 65535))
	setAttr(a, "tls_mode", &db.TLSMode, d.choice(tlsModes...))
	if at, ok := a["ca_file"]; ok {
		if p, ok := d.path(at); ok && d.checkCAFile(p, at.Expr.Range()) {
			db.CAFile = p
		}
	}
	db.Secret = d.decodeSecret(a, what)
}

// checkCAFile refuses, when the inventory is loaded, a CA file that is
// missing or holds no PEM certificate: a run must not find out on its
// first connection.
func (d *decoder) checkCAFile(p string, rng hcl.Range) bool {
	raw, ok := d.readFile(p, rng, "CA file unreadable")
	if !ok {
		return false
	}
	n := 0
	for rest := raw; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			d.errorf(rng, "Invalid CA file", "%s holds a certificate that does not parse: %s.", p, err)
			return false
		}
		n++
	}
	if n == 0 {
		d.errorf(rng, "Invalid CA file", "%s holds no PEM certificate (-----BEGIN CERTIFICATE-----): database.ca_file is the CA that signed the PostgreSQL server's certificate.", p)
		return false
	}
	return true
}
