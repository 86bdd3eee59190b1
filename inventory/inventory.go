package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	hclfuncs "github.com/kongctl/kongctl/hcl/funcs"
)

// DefaultFile is the inventory read when none is named.
const DefaultFile = "hosts.hcl"

// Inventory is a loaded, validated inventory. Loaders return a partial
// Inventory alongside error diagnostics; use it only to render them.
type Inventory struct {
	Path     string // the file it was loaded from, as given
	Dir      string // absolute directory relative paths resolved against
	SSH      SSH    // global SSH settings (defaults + top-level ssh block)
	Hosts    []*Host
	Groups   []*Group
	Database *Database // nil only when missing (an error)
	Upgrade  *Upgrade  // nil only when missing (an error)
	Hooks    []*Hook
	Verify   *Verify
	Backup   *Backup
	Timeouts Timeouts
	Kong     *Kong // nil when the inventory has no kong block
	// Preflight is nil when the inventory has no preflight block.
	Preflight *Preflight
	// LoadBalancer is nil when the inventory has no load_balancer block.
	LoadBalancer *LoadBalancer

	// Files holds the parsed source files by name, for rendering
	// diagnostics with source snippets.
	Files map[string]*hcl.File
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "ssh"},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "database"},
		{Type: "upgrade"},
		{Type: "hook", LabelNames: []string{"event"}},
		{Type: "verify"},
		{Type: "backup"},
		{Type: "timeouts"},
		{Type: "kong"},
		{Type: "preflight"},
		{Type: "load_balancer", LabelNames: []string{"kind"}},
	},
}

// Load reads and validates the inventory at path. Files whose name ends in
// ".json" are read as HCL JSON syntax. The returned Inventory is never nil;
// when the diagnostics have errors it is partial.
func Load(path string) (*Inventory, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		inv := &Inventory{Path: path, Files: map[string]*hcl.File{}}
		detail := fmt.Sprintf("Cannot read the inventory: %s.", err)
		if os.IsNotExist(err) {
			detail += fmt.Sprintf(" Name an inventory with -i FILE or the KONGCTL_INVENTORY environment variable (default ./%s).", DefaultFile)
		}
		// The file itself is the subject (at 1:1), so the error reads
		// "hosts.hcl:1:1: error: ..." like every other inventory problem.
		at := hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}
		return inv, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read inventory", Detail: detail, Subject: &at}}
	}
	return LoadBytes(path, src)
}

// LoadBytes parses and validates src as if read from the file name; paths
// in it resolve relative to name's directory.
func LoadBytes(name string, src []byte) (*Inventory, hcl.Diagnostics) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		dir = filepath.Dir(name)
	}
	inv := &Inventory{Path: name, Dir: dir}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		f, diags = p.ParseJSON(src, name)
	} else {
		f, diags = p.ParseHCL(src, name)
	}
	inv.Files = p.Files()
	if diags.HasErrors() || f == nil {
		return inv, diags
	}
	d := &decoder{dir: dir, home: os.UserHomeDir, diags: diags}
	d.decodeRoot(inv, f.Body)
	return inv, d.diags
}

func (d *decoder) joinDir(p string) string { return filepath.Join(d.dir, p) }

func (d *decoder) decodeRoot(inv *Inventory, body hcl.Body) {
	d.ctx = &hcl.EvalContext{
		Functions: hclfuncs.Functions(hclfuncs.Options{BaseDir: d.dir}),
		Variables: map[string]cty.Value{},
	}
	c := d.content(body, rootSchema)
	d.ctx.Variables["var"] = d.decodeVariables(c.Blocks.OfType("variable"))

	inv.SSH = defaultSSH()
	inv.SSH.SSHConfig = d.defaultSSHConfig()
	var globalJump hcl.Range
	if b := d.single(c.Blocks.OfType("ssh"), "ssh"); b != nil {
		globalJump = d.applySSH(&inv.SSH, b, globalSSHSchema).jump
	}

	hostAt := map[string]*Host{}
	for _, b := range c.Blocks.OfType("host") {
		h := d.decodeHost(b, inv.SSH)
		if prev, dup := hostAt[h.Name]; dup {
			d.errorf(h.NameRange, "Duplicate host",
				"A host named %q was already declared at %s. Host names must be unique: rename or remove one of them.", h.Name, posString(prev.NameRange))
			continue
		}
		hostAt[h.Name] = h
		inv.Hosts = append(inv.Hosts, h)
	}
	groupAt := map[string]*Group{}
	for _, b := range c.Blocks.OfType("group") {
		g := d.decodeGroup(b)
		if prev, dup := groupAt[g.Name]; dup {
			d.errorf(g.NameRange, "Duplicate group",
				"A group named %q was already declared at %s. Merge the two groups' hosts into one block.", g.Name, posString(prev.NameRange))
			continue
		}
		if h, clash := hostAt[g.Name]; clash {
			d.errorf(g.NameRange, "Group named like a host",
				"The group %q has the name of the host declared at %s, so --limit %s would be ambiguous. Rename the group.", g.Name, posString(h.NameRange), g.Name)
			continue
		}
		groupAt[g.Name] = g
		inv.Groups = append(inv.Groups, g)
	}
	if b := d.single(c.Blocks.OfType("database"), "database"); b != nil {
		inv.Database = d.decodeDatabase(b)
	} else {
		d.errorf(body.MissingItemRange(), "Missing database block",
			"The inventory needs a database block describing Kong's PostgreSQL database, e.g.\n  database {\n    host          = \"10.0.0.5\"\n    password_env  = \"KONG_PG_PASSWORD\"\n  }")
	}
	if b := d.single(c.Blocks.OfType("upgrade"), "upgrade"); b != nil {
		inv.Upgrade = d.decodeUpgrade(b)
	} else {
		d.errorf(body.MissingItemRange(), "Missing upgrade block",
			"The inventory needs an upgrade block naming at least the target version, e.g.\n  upgrade {\n    to = \"3.4.2\"\n    package {\n      source = \"file\"\n      dir    = \"packages\"\n    }\n  }")
	}
	for _, b := range c.Blocks.OfType("hook") {
		inv.Hooks = append(inv.Hooks, d.decodeHook(b))
	}
	inv.Verify = defaultVerify()
	if b := d.single(c.Blocks.OfType("verify"), "verify"); b != nil {
		inv.Verify = d.decodeVerify(b)
	}
	inv.Backup = d.defaultBackup()
	if b := d.single(c.Blocks.OfType("backup"), "backup"); b != nil {
		inv.Backup = d.decodeBackup(b)
	}
	if b := d.single(c.Blocks.OfType("kong"), "kong"); b != nil {
		inv.Kong = d.decodeKong(b)
	}
	if b := d.single(c.Blocks.OfType("preflight"), "preflight"); b != nil {
		inv.Preflight = d.decodePreflight(b)
	}
	if b := d.single(c.Blocks.OfType("load_balancer"), "load_balancer"); b != nil {
		inv.LoadBalancer = d.decodeLoadBalancer(b)
	}
	inv.Timeouts = defaultTimeouts()
	if b := d.single(c.Blocks.OfType("timeouts"), "timeouts"); b != nil {
		inv.Timeouts = d.decodeTimeouts(b)
	}

	d.validate(inv, body, hostAt, groupAt, globalJump)
	d.validateLoadBalancer(inv, hostAt)
}

// Host returns the host named name, or nil.
func (inv *Inventory) Host(name string) *Host {
	for _, h := range inv.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Group returns the group named name, or nil.
func (inv *Inventory) Group(name string) *Group {
	for _, g := range inv.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// HostsWithRole returns the hosts that have role r, in inventory order.
func (inv *Inventory) HostsWithRole(r Role) []*Host {
	var out []*Host
	for _, h := range inv.Hosts {
		if h.Has(r) {
			out = append(out, h)
		}
	}
	return out
}

// KongHosts returns the hosts that run Kong (roles kong, control_plane and
// data_plane), in inventory order. Spares are not included.
func (inv *Inventory) KongHosts() []*Host {
	var out []*Host
	for _, h := range inv.Hosts {
		if h.IsKong() {
			out = append(out, h)
		}
	}
	return out
}

// MigrationCandidates returns the hosts that may run `kong migrations`, in
// the order to try them: upgrade.migration_host first when set, then every
// other kong or control_plane host in inventory order. The controller
// picks the first healthy one.
func (inv *Inventory) MigrationCandidates() []*Host {
	var out []*Host
	if inv.Upgrade != nil && inv.Upgrade.MigrationHost != "" {
		if h := inv.Host(inv.Upgrade.MigrationHost); h != nil && h.CanMigrate() {
			out = append(out, h)
		}
	}
	for _, h := range inv.Hosts {
		if h.CanMigrate() && (len(out) == 0 || out[0] != h) {
			out = append(out, h)
		}
	}
	return out
}

// ToolsHost returns the host that runs pg_dump and pg_restore:
// database.tools_host when set, else the first host with role database,
// else the first migration candidate. Nil only for an invalid inventory.
func (inv *Inventory) ToolsHost() *Host {
	if inv.Database != nil && inv.Database.ToolsHost != "" {
		return inv.Host(inv.Database.ToolsHost)
	}
	if hs := inv.HostsWithRole(RoleDatabase); len(hs) > 0 {
		return hs[0]
	}
	if hs := inv.MigrationCandidates(); len(hs) > 0 {
		return hs[0]
	}
	return nil
}

// HooksFor returns the hooks of an event, in inventory order.
func (inv *Inventory) HooksFor(event string) []*Hook {
	var out []*Hook
	for _, h := range inv.Hooks {
		if h.Event == event {
			out = append(out, h)
		}
	}
	return out
}

// Expand returns the hosts named by a host or group name; nil when the
// name is neither.
func (inv *Inventory) Expand(name string) []*Host {
	if h := inv.Host(name); h != nil {
		return []*Host{h}
	}
	if g := inv.Group(name); g != nil {
		var out []*Host
		for _, n := range g.Hosts {
			if h := inv.Host(n); h != nil {
				out = append(out, h)
			}
		}
		return out
	}
	return nil
}
