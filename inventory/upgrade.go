package inventory

import (
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/kongver"

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

// Data-plane modes (upgrade.data_planes): hybrid data planes checked for
// compatibility only, or upgraded in batches after the control planes.
const (
	DataPlanesCheck   = "check"
	DataPlanesRolling = "rolling"
)

// Upgrade says what to upgrade and how.
type Upgrade struct {
	From           kongver.Version // zero when not given (detected on the nodes)
	To             kongver.Version
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
	// StartBetweenHops starts Kong on each intermediate version of a
	// multi-hop upgrade (then stops it) before the next hop; by default
	// it is not started there (docs/upgrade.md, several hops).
	StartBetweenHops bool
	// DataPlanes is what happens to hybrid data planes: "check" (default:
	// their compatibility with Y is checked, nothing more) or "rolling"
	// (upgraded in batches of Batch once the control planes serve Y,
	// each batch waited for until the control plane reports it connected
	// on Y, at most DataPlaneTimeout).
	DataPlanes       string
	Batch            int
	DataPlaneTimeout time.Duration
	Package          Package
	// MigrationTimeouts override the sized migration timeouts.
	MigrationTimeouts MigrationTimeouts
	// Strategy is StrategyInPlace (default) or StrategyDualCluster;
	// TargetDatabase and Shift are the dual-cluster's (dualcluster.go).
	Strategy       string
	TargetDatabase string
	// TargetServer is set when target_database is an object naming a
	// database on another PostgreSQL server ({ host, port, name, ... }):
	// complete once loaded, what it omits taken from the database block
	// (targetdb.go). nil: TargetDatabase is on X's server.
	TargetServer *Database
	Shift        []int // percentages of traffic on Y, ascending, the last 100
	// ReplaceTargetDatabase lets a dual-cluster run drop a target
	// database that exists already (a leftover of an earlier attempt)
	// and create it again from X's backup; never X's own database.
	ReplaceTargetDatabase bool

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range // attribute name -> its value's range

	orderAttr *hcl.Attribute
	orderRaw  []string
}

// Package says where the Kong packages come from: files on the bastion
// (source "file"), or the package repositories each node's apt or dnf
// already has configured (source "repository"; kongctl downloads exactly
// upgrade.to there and adds no repository of its own).
type Package struct {
	Source string // "file" or "repository"
	Dir    string // source "file": directory holding the package files
	// PluginPackages are the custom plugin packages the nodes have
	// installed (plugin_packages): each checked present on every node in
	// preflight, and installed on the rehearsal host, at the version the
	// migration node has, from the same source as Kong's (plugins.go).
	PluginPackages      []string
	PluginPackagesRange hcl.Range
	DeclRange           hcl.Range
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
func (u *Upgrade) PackageFile(v kongver.Version, arch, format string) string {
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
		{Name: "start_between_hops"},
		{Name: "stop"},
		{Name: "finish"},
		{Name: "migrations_db_timeout"},
		{Name: "migrations_lock_timeout"},
		{Name: "strategy"},
		{Name: "target_database"},
		{Name: "shift"},
		{Name: "replace_target_database"},
		{Name: "data_planes"},
		{Name: "batch"},
		{Name: "data_plane_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "package"}},
}

var packageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "dir"}, {Name: "plugin_packages"}},
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
		Strategy:       StrategyInPlace,
		DataPlanes:     DataPlanesCheck,
		Batch:          1,
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
	setAttr(a, "service_manager", &u.ServiceManager, d.choice("cli", "systemd"))
	setAttr(a, "on_failure", &u.OnFailure, d.choice("rollback", "pause"))
	setAttr(a, "stop", &u.Stop, d.choice(StopParallel, StopSequential))
	setAttr(a, "finish", &u.Finish, d.choice(FinishBeforeStart, FinishAfterVerify))
	setAttr(a, "decommission", &u.Decommission, d.boolean)
	setAttr(a, "start_between_hops", &u.StartBetweenHops, d.boolean)
	setAttr(a, "migration_host", &u.MigrationHost, d.nonEmpty)
	d.decodeDataPlanes(u, a)
	u.MigrationTimeouts = d.decodeMigrationTimeouts(a)
	d.decodeStrategy(a, u)
	if at, ok := a["order"]; ok {
		if v, ok := d.strList(at); ok {
			u.orderAttr, u.orderRaw = at, v
		}
	}
	if b := d.single(c.Blocks.OfType("package"), "package"); b != nil {
		u.Package = d.decodePackage(b)
	} else {
		d.errorf(block.Body.MissingItemRange(), "Missing package block",
			"The upgrade block needs a package block saying where the new Kong packages come from, e.g. package { source = \"file\"  dir = \"packages\" } or package { source = \"repository\" } (the nodes' configured apt or dnf repositories).")
	}
	return u
}

func (d *decoder) version(at *hcl.Attribute, ed Edition) kongver.Version {
	s, ok := d.nonEmpty(at)
	if !ok {
		return kongver.Version{}
	}
	v, err := kongver.Parse(s)
	if err != nil {
		d.errorf(at.Expr.Range(), "Invalid version",
			"%q is not a Kong version. Write x.y.z for Kong Gateway (e.g. \"3.4.2\") or x.y.z.w for Kong Gateway Enterprise (e.g. \"3.4.3.12\").", s)
		return kongver.Version{}
	}
	switch {
	case ed == EditionEnterprise && !v.FourPart():
		d.errorf(at.Expr.Range(), "Invalid version",
			"Kong Gateway Enterprise versions have four numbers, x.y.z.w (e.g. \"3.4.3.12\"); %q has three. If this is Kong Gateway (OSS), set edition = \"oss\".", s)
	case ed == EditionOSS && v.FourPart():
		d.errorf(at.Expr.Range(), "Invalid version",
			"Kong Gateway (OSS) versions have three numbers, x.y.z; %q has four. If this is Kong Gateway Enterprise, set edition = \"enterprise\".", s)
	}
	return v
}

func (d *decoder) decodePackage(block *hcl.Block) Package {
	p := Package{Source: SourceFile, DeclRange: block.DefRange}
	c := d.content(block.Body, packageSchema)
	setAttr(c.Attributes, "source", &p.Source, d.choice(SourceFile, SourceRepository))
	setAttr(c.Attributes, "dir", &p.Dir, d.path)
	if p.Source == SourceFile {
		if _, ok := c.Attributes["dir"]; !ok {
			d.errorf(block.DefRange, "Missing package directory",
				"With source = \"file\", set dir to the directory holding kong_<version>_<arch>.deb (or kong-enterprise-edition_<version>_<arch>.deb, and .rpm), relative to the inventory.")
		}
	}
	if at, ok := c.Attributes["plugin_packages"]; ok {
		p.PluginPackages, p.PluginPackagesRange = d.pluginPackages(at), at.Expr.Range()
	}
	return p
}

// decodeDataPlanes reads data_planes, batch and data_plane_timeout; the
// last two only mean something for a rolling upgrade of the data planes.
func (d *decoder) decodeDataPlanes(u *Upgrade, a hcl.Attributes) {
	valid := true
	if at, ok := a["data_planes"]; ok {
		u.DataPlanes, valid = d.oneOf(at, DataPlanesCheck, DataPlanesRolling)
	}
	setAttr(a, "batch", &u.Batch, d.intIn(1, 1000))
	setAttr(a, "data_plane_timeout", &u.DataPlaneTimeout, d.durationOf(false))
	if !valid || u.DataPlanes == DataPlanesRolling {
		return
	}
	for _, name := range []string{"batch", "data_plane_timeout"} {
		if at, ok := a[name]; ok {
			d.errorf(at.Expr.Range(), "Data planes not rolled",
				"%s applies to data_planes = \"rolling\" (the data planes upgraded in batches after the control planes); with data_planes = %q they are only checked. Set data_planes = \"rolling\", or remove %s.", name, u.DataPlanes, name)
		}
	}
}
