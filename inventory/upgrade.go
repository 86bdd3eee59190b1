package inventory

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Edition is the Kong distribution being upgraded.
type Edition string

// Editions.
const (
	EditionOSS        Edition = "oss"
	EditionEnterprise Edition = "enterprise"
)

// Package sources.
const (
	SourceFile       = "file"
	SourceRepository = "repository"
)

// Stop modes and finish placements (upgrade.stop, upgrade.finish).
const (
	StopParallel      = "parallel"
	StopSequential    = "sequential"
	FinishBeforeStart = "before-start"
	FinishAfterVerify = "after-verify"
)

// Upgrade says what to upgrade and how.
type Upgrade struct {
	From           Version // zero when not given (detected on the nodes)
	To             Version
	Edition        Edition
	KongConf       string
	Prefix         string
	ServiceManager string // "cli" (kong start/stop) or "systemd"
	// ServiceEnvFile is the environment file (KONG_*=value lines) the
	// nodes' Kong service reads on cli-managed hosts: kongctl gives its
	// values to every kong command when Kong is not running (a running
	// Kong's own environment is read otherwise). "" = none.
	ServiceEnvFile string
	MigrationHost  string // "" = first healthy node that can migrate
	OnFailure      string // "rollback" or "pause"
	// Stop is how the nodes stop: "parallel" (default: the migration node
	// first, Y installed on it while the others still serve, then the
	// others at once) or "sequential" (one after another in stop order,
	// for operators who drain each node through a load balancer).
	Stop string
	// Finish places `kong migrations finish`: "before-start" (default, the
	// guide's order up → finish → start) or "after-verify" (Y starts
	// right after up, with pending migrations, and finish runs once the
	// verify gates passed).
	Finish string
	Order  []string // stop order: host names, groups expanded; nil = inventory order
	// Decommission removes Kong from the old hosts once the spare hosts
	// passed verify (Kong's step 12; new-hosts upgrades only).
	Decommission bool
	Package      Package
	// MigrationTimeouts override the sized migration timeouts.
	MigrationTimeouts MigrationTimeouts

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range // attribute name -> its value's range

	orderAttr *hcl.Attribute
	orderRaw  []string
}

// Package says where the Kong packages come from.
type Package struct {
	Source     string // "file" or "repository"
	Dir        string // source "file": directory holding the package files
	Repository *Repository
	DeclRange  hcl.Range
}

// Repository is a package repository (apt or yum).
type Repository struct {
	URL string
	Pin bool // pin the package to exactly Upgrade.To
}

// PackageName is the distribution package's name: "kong" or
// "kong-enterprise-edition".
func (u *Upgrade) PackageName() string {
	if u.Edition == EditionEnterprise {
		return "kong-enterprise-edition"
	}
	return "kong"
}

// PackageFile is the file name of a package in Package.Dir:
// <name>_<version>_<arch>.<format>, e.g. "kong_3.4.2_amd64.deb" or
// "kong-enterprise-edition_3.4.3.12_arm64.rpm" (Debian arch names for both
// formats).
func (u *Upgrade) PackageFile(v Version, arch, format string) string {
	return fmt.Sprintf("%s_%s_%s.%s", u.PackageName(), v, arch, format)
}

var upgradeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from"},
		{Name: "to", Required: true},
		{Name: "edition"},
		{Name: "kong_conf"},
		{Name: "prefix"},
		{Name: "service_manager"},
		{Name: "service_env_file"},
		{Name: "migration_host"},
		{Name: "on_failure"},
		{Name: "order"},
		{Name: "decommission"},
		{Name: "stop"},
		{Name: "finish"},
		{Name: "migrations_db_timeout"},
		{Name: "migrations_lock_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "package"}},
}

var packageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "dir"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "repository"}},
}

var repositorySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "url", Required: true}, {Name: "pin"}},
}

func (d *decoder) decodeUpgrade(block *hcl.Block) *Upgrade {
	u := &Upgrade{
		Edition:        EditionOSS,
		KongConf:       "/etc/kong/kong.conf",
		Prefix:         "/usr/local/kong",
		ServiceManager: "cli",
		OnFailure:      "rollback",
		Stop:           StopParallel,
		Finish:         FinishBeforeStart,
		Package:        Package{Source: SourceFile},
		DeclRange:      block.DefRange,
		Ranges:         map[string]hcl.Range{},
	}
	c := d.content(block.Body, upgradeSchema)
	a := c.Attributes
	for name, at := range a {
		u.Ranges[name] = at.Expr.Range()
	}
	if at, ok := a["edition"]; ok {
		if v, ok := d.oneOf(at, string(EditionOSS), string(EditionEnterprise)); ok {
			u.Edition = Edition(v)
		}
	}
	if at, ok := a["from"]; ok {
		u.From = d.version(at, u.Edition)
	}
	if at, ok := a["to"]; ok {
		u.To = d.version(at, u.Edition)
	}
	if !u.From.IsZero() && !u.To.IsZero() && u.To.Compare(u.From) <= 0 {
		d.errorf(a["to"].Expr.Range(), "Not an upgrade",
			"upgrade.to (%s) must be newer than upgrade.from (%s). To go back to an older version after a failed upgrade, use `kongctl rollback`.", u.To, u.From)
	}
	for name, dst := range map[string]*string{"kong_conf": &u.KongConf, "prefix": &u.Prefix, "service_env_file": &u.ServiceEnvFile} {
		if at, ok := a[name]; ok {
			if v, ok := d.nonEmpty(at); ok {
				if !strings.HasPrefix(v, "/") {
					d.errorf(at.Expr.Range(), "Relative remote path", "%s is a path on the Kong nodes and must be absolute, such as \"/etc/kong/kong.conf\".", name)
				}
				*dst = v
			}
		}
	}
	if at, ok := a["service_manager"]; ok {
		if v, ok := d.oneOf(at, "cli", "systemd"); ok {
			u.ServiceManager = v
		}
	}
	if at, ok := a["on_failure"]; ok {
		if v, ok := d.oneOf(at, "rollback", "pause"); ok {
			u.OnFailure = v
		}
	}
	if at, ok := a["stop"]; ok {
		if v, ok := d.oneOf(at, StopParallel, StopSequential); ok {
			u.Stop = v
		}
	}
	if at, ok := a["finish"]; ok {
		if v, ok := d.oneOf(at, FinishBeforeStart, FinishAfterVerify); ok {
			u.Finish = v
		}
	}
	if at, ok := a["decommission"]; ok {
		if v, ok := d.boolean(at); ok {
			u.Decommission = v
		}
	}
	u.MigrationTimeouts = d.decodeMigrationTimeouts(a)
	if at, ok := a["migration_host"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			u.MigrationHost = v
		}
	}
	if at, ok := a["order"]; ok {
		if v, ok := d.strList(at); ok {
			u.orderAttr, u.orderRaw = at, v
		}
	}
	if b := d.single(c.Blocks.OfType("package"), "package"); b != nil {
		u.Package = d.decodePackage(b)
	} else {
		d.errorf(block.Body.MissingItemRange(), "Missing package block",
			"The upgrade block needs a package block saying where the new Kong packages come from, e.g. package { source = \"file\"  dir = \"packages\" } or package { source = \"repository\"  repository { url = \"https://...\" } }.")
	}
	return u
}

func (d *decoder) version(at *hcl.Attribute, ed Edition) Version {
	s, ok := d.nonEmpty(at)
	if !ok {
		return Version{}
	}
	v, err := ParseVersion(s)
	if err != nil {
		d.errorf(at.Expr.Range(), "Invalid version",
			"%q is not a Kong version. Write x.y.z for Kong Gateway (e.g. \"3.4.2\") or x.y.z.w for Kong Gateway Enterprise (e.g. \"3.4.3.12\").", s)
		return Version{}
	}
	switch {
	case ed == EditionEnterprise && !v.HasBuild:
		d.errorf(at.Expr.Range(), "Invalid version",
			"Kong Gateway Enterprise versions have four numbers, x.y.z.w (e.g. \"3.4.3.12\"); %q has three. If this is Kong Gateway (OSS), set edition = \"oss\".", s)
	case ed == EditionOSS && v.HasBuild:
		d.errorf(at.Expr.Range(), "Invalid version",
			"Kong Gateway (OSS) versions have three numbers, x.y.z; %q has four. If this is Kong Gateway Enterprise, set edition = \"enterprise\".", s)
	}
	return v
}

func (d *decoder) decodePackage(block *hcl.Block) Package {
	p := Package{Source: SourceFile, DeclRange: block.DefRange}
	c := d.content(block.Body, packageSchema)
	if at, ok := c.Attributes["source"]; ok {
		if v, ok := d.oneOf(at, SourceFile, SourceRepository); ok {
			p.Source = v
		}
	}
	if at, ok := c.Attributes["dir"]; ok {
		if v, ok := d.path(at); ok {
			p.Dir = v
		}
	}
	if b := d.single(c.Blocks.OfType("repository"), "repository"); b != nil {
		rc := d.content(b.Body, repositorySchema)
		r := &Repository{Pin: true}
		if at, ok := rc.Attributes["url"]; ok {
			if v, ok := d.nonEmpty(at); ok {
				if !strings.Contains(v, "://") {
					d.errorf(at.Expr.Range(), "Invalid repository URL", "The repository url %q must be a URL such as \"https://packages.example.com/kong\".", v)
				}
				r.URL = v
			}
		}
		if at, ok := rc.Attributes["pin"]; ok {
			if v, ok := d.boolean(at); ok {
				r.Pin = v
			}
		}
		p.Repository = r
	}
	switch p.Source {
	case SourceFile:
		if _, ok := c.Attributes["dir"]; !ok {
			d.errorf(block.DefRange, "Missing package directory",
				"With source = \"file\", set dir to the directory holding kong_<version>_<arch>.deb (or kong-enterprise-edition_<version>_<arch>.deb, and .rpm), relative to the inventory.")
		}
	case SourceRepository:
		if p.Repository == nil {
			d.errorf(block.DefRange, "Missing repository block",
				"With source = \"repository\", add repository { url = \"https://...\" } naming the package repository.")
		}
	}
	return p
}
