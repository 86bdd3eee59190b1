package inventory

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Backup says where database backups go.
type Backup struct {
	Dir       string // on the tools host (absolute remote path)
	LocalDir  string // on the bastion, absolute
	Retention int    // backups kept in each place

	// EncryptTo are the age recipients ("age1...") the bastion's copy is
	// encrypted to: encrypt_to and the lines of recipients_file together
	// (backupcrypt.go). Empty: the copy is kept in clear.
	EncryptTo []string
	// IdentityFile holds the age identity that decrypts the backup for a
	// restore ("" = none; `--identity` gives one at run time).
	IdentityFile string

	Ranges map[string]hcl.Range // attribute name -> its value's range
}

var backupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "dir"}, {Name: "local_dir"}, {Name: "retention"},
		{Name: "encrypt_to"}, {Name: "recipients_file"}, {Name: "identity_file"}},
}

func (d *decoder) defaultBackup() *Backup {
	return &Backup{Dir: "/var/backups/kongctl", LocalDir: d.joinDir("backups"), Retention: 5, Ranges: map[string]hcl.Range{}}
}

func (d *decoder) decodeBackup(block *hcl.Block) *Backup {
	b := d.defaultBackup()
	c := d.content(block.Body, backupSchema)
	for name, at := range c.Attributes {
		b.Ranges[name] = at.Expr.Range()
	}
	if at, ok := c.Attributes["dir"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			if !strings.HasPrefix(v, "/") {
				d.errorf(at.Expr.Range(), "Relative remote path", "backup.dir is a directory on the tools host and must be absolute, such as \"/var/backups/kongctl\".")
			}
			b.Dir = v
		}
	}
	setAttr(c.Attributes, "local_dir", &b.LocalDir, d.path)
	setAttr(c.Attributes, "retention", &b.Retention, d.intIn(1, 1000))
	d.decodeBackupCrypt(b, c.Attributes)
	return b
}

// Timeouts bound each phase of the upgrade.
type Timeouts struct {
	Preflight  time.Duration
	Backup     time.Duration
	Stop       time.Duration
	Install    time.Duration
	Migrations time.Duration // migrations up and finish, each
	Start      time.Duration
	Verify     time.Duration // health, smoke and soak together
	Rollback   time.Duration
	Hook       time.Duration // default for each hook
}

func defaultTimeouts() Timeouts {
	return Timeouts{
		Preflight:  5 * time.Minute,
		Backup:     30 * time.Minute,
		Stop:       2 * time.Minute,
		Install:    10 * time.Minute,
		Migrations: 30 * time.Minute,
		Start:      2 * time.Minute,
		Verify:     15 * time.Minute,
		Rollback:   30 * time.Minute,
		Hook:       5 * time.Minute,
	}
}

func (t *Timeouts) fields() []struct {
	name string
	p    *time.Duration
} {
	return []struct {
		name string
		p    *time.Duration
	}{
		{"preflight", &t.Preflight}, {"backup", &t.Backup},
		{"stop", &t.Stop}, {"install", &t.Install}, {"migrations", &t.Migrations},
		{"start", &t.Start}, {"verify", &t.Verify}, {"rollback", &t.Rollback}, {"hook", &t.Hook},
	}
}

// For returns the timeout of a phase by its inventory name ("stop",
// "migrations", ...), or 0 when there is none.
func (t Timeouts) For(phase string) time.Duration {
	for _, f := range t.fields() {
		if f.name == phase {
			return *f.p
		}
	}
	return 0
}

// timeoutsSchema names every field of Timeouts.
var timeoutsSchema = func() *hcl.BodySchema {
	t := defaultTimeouts()
	s := &hcl.BodySchema{}
	for _, f := range t.fields() {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: f.name})
	}
	return s
}()

func (d *decoder) decodeTimeouts(block *hcl.Block) Timeouts {
	t := defaultTimeouts()
	c := d.content(block.Body, timeoutsSchema)
	for _, f := range t.fields() {
		if at, ok := c.Attributes[f.name]; ok {
			if v, ok := d.duration(at, false); ok {
				*f.p = v
			}
		}
	}
	return t
}
