package inventory

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// Role is what a host does in the fleet.
type Role string

// Roles a host may have.
const (
	RoleKong         Role = "kong"          // Kong node in traditional mode
	RoleControlPlane Role = "control_plane" // hybrid mode control plane
	RoleDataPlane    Role = "data_plane"    // hybrid mode data plane (no database access)
	RoleDatabase     Role = "database"      // runs PostgreSQL
	RoleBastion      Role = "bastion"       // SSH jump host
	RoleSpare        Role = "spare"         // new machine prepared for the new version
	RoleLoadBalancer Role = "load_balancer" // runs the load balancer in front of the nodes
	RoleRehearsal    Role = "rehearsal"     // spare machine that rehearses Y's migrations on a scratch copy
)

// Roles lists every valid role.
var Roles = []Role{RoleKong, RoleControlPlane, RoleDataPlane, RoleDatabase, RoleBastion, RoleSpare, RoleLoadBalancer, RoleRehearsal}

func roleNames() []string {
	out := make([]string, len(Roles))
	for i, r := range Roles {
		out[i] = string(r)
	}
	return out
}

// Host is one machine of the inventory.
type Host struct {
	Name    string
	Address string
	Port    int
	Roles   []Role
	Tags    []string
	HostKey string // pinned host key, authorized_keys format; "" = none
	SSH     SSH    // resolved: global ssh settings with this host's overrides
	// LBServer is the host's server name in the load balancer's backend
	// (lb_server); "" = the host's name (see LBServerOf).
	LBServer string

	DeclRange hcl.Range            // the host block's header
	NameRange hcl.Range            // the host's label
	Ranges    map[string]hcl.Range // attribute name -> its value's range

	jumpRange hcl.Range
}

// Has reports whether the host has role r.
func (h *Host) Has(r Role) bool { return slices.Contains(h.Roles, r) }

// IsKong reports whether the host runs Kong (role kong, control_plane or
// data_plane).
func (h *Host) IsKong() bool {
	return h.Has(RoleKong) || h.Has(RoleControlPlane) || h.Has(RoleDataPlane)
}

// CanMigrate reports whether the host may run `kong migrations`: a Kong
// node with database access (role kong or control_plane).
func (h *Host) CanMigrate() bool { return h.Has(RoleKong) || h.Has(RoleControlPlane) }

// HasTag reports whether the host carries tag t.
func (h *Host) HasTag(t string) bool { return slices.Contains(h.Tags, t) }

// String returns the host's name.
func (h *Host) String() string { return h.Name }

// Where describes the host's declaration for error messages, e.g.
// "host kong-1 (hosts.hcl:12:1)".
func (h *Host) Where() string { return fmt.Sprintf("host %s (%s)", h.Name, posString(h.DeclRange)) }

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true},
		{Name: "port"},
		{Name: "user"},
		{Name: "roles", Required: true},
		{Name: "tags"},
		{Name: "host_key"},
		{Name: "lb_server"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "ssh"}},
}

func (d *decoder) decodeHost(block *hcl.Block, global SSH) *Host {
	h := &Host{
		Name:      block.Labels[0],
		Port:      22,
		DeclRange: block.DefRange,
		NameRange: block.LabelRanges[0],
		Ranges:    map[string]hcl.Range{},
		SSH:       global.clone(),
	}
	d.checkName(h.Name, "host", block.LabelRanges[0])
	c := d.content(block.Body, hostSchema)
	for name, at := range c.Attributes {
		h.Ranges[name] = at.Expr.Range()
	}
	if at, ok := c.Attributes["address"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			if strings.ContainsAny(v, " \t/@") {
				d.errorf(at.Expr.Range(), "Invalid address", "The address %q must be a host name or an IP address, without user, port or path. Set the port with port = N and the user with user = \"name\".", v)
			}
			h.Address = v
		}
	}
	setAttr(c.Attributes, "port", &h.Port, d.intIn(1, 65535))
	if at, ok := c.Attributes["roles"]; ok {
		h.Roles = d.decodeRoles(at)
	}
	if at, ok := c.Attributes["tags"]; ok {
		if v, ok := d.strList(at); ok {
			for _, t := range v {
				if t == "" || strings.ContainsAny(t, ", \t") {
					d.errorf(at.Expr.Range(), "Invalid tag", "The tag %q must be non-empty and contain no commas or spaces, so that --limit tag:NAME can select it.", t)
				}
			}
			h.Tags = v
		}
	}
	if at, ok := c.Attributes["host_key"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v)); err != nil {
				d.errorf(at.Expr.Range(), "Invalid host key",
					"The host_key must be a public key in authorized_keys format, such as \"ssh-ed25519 AAAAC3Nz...\" (the key part of a known_hosts line; ssh-keyscan prints it): %s.", err)
			} else {
				h.HostKey = v
			}
		}
	}
	setAttr(c.Attributes, "lb_server", &h.LBServer, d.lbName)
	// Host-level user is a shorthand for ssh { user = ... }; ssh wins.
	setAttr(c.Attributes, "user", &h.SSH.User, d.nonEmpty)
	if b := d.single(c.Blocks.OfType("ssh"), "ssh"); b != nil {
		rs := d.applySSH(&h.SSH, b, hostSSHSchema)
		h.jumpRange = rs.jump
	}
	return h
}

func (d *decoder) decodeRoles(at *hcl.Attribute) []Role {
	list, ok := d.strList(at)
	if !ok {
		return nil
	}
	if len(list) == 0 {
		d.errorf(at.Expr.Range(), "No roles", "A host needs at least one role: %s.", quoteList(roleNames()))
		return nil
	}
	var roles []Role
	for _, s := range list {
		r := Role(s)
		if !slices.Contains(Roles, r) {
			d.errorf(at.Expr.Range(), "Unknown role",
				"%q is not a role.%s The roles are %s.", s, didYouMean(s, roleNames()), quoteList(roleNames()))
			continue
		}
		if slices.Contains(roles, r) {
			d.errorf(at.Expr.Range(), "Duplicate role", "The role %q is listed twice; list it once.", s)
			continue
		}
		roles = append(roles, r)
	}
	if slices.Contains(roles, RoleKong) && (slices.Contains(roles, RoleControlPlane) || slices.Contains(roles, RoleDataPlane)) {
		d.errorf(at.Expr.Range(), "Conflicting roles",
			"Role \"kong\" is a traditional-mode node; it cannot also be a hybrid-mode \"control_plane\" or \"data_plane\". Keep one of them.")
	}
	if slices.Contains(roles, RoleControlPlane) && slices.Contains(roles, RoleDataPlane) {
		d.errorf(at.Expr.Range(), "Conflicting roles", "A host is either a \"control_plane\" or a \"data_plane\", not both.")
	}
	if slices.Contains(roles, RoleRehearsal) && slices.ContainsFunc(roles, func(r Role) bool {
		return r == RoleKong || r == RoleControlPlane || r == RoleDataPlane || r == RoleSpare || r == RoleLoadBalancer
	}) {
		d.errorf(at.Expr.Range(), "Conflicting roles",
			"A \"rehearsal\" host installs Y and runs its migrations on a scratch copy of the database; it cannot also be a Kong node, a spare or the load balancer. Use a machine of its own.")
	}
	return roles
}

// checkName reports names that --limit could not select.
func (d *decoder) checkName(name, what string, rng hcl.Range) {
	if name == "" || strings.ContainsAny(name, ", \t:") {
		d.errorf(rng, "Invalid "+what+" name",
			"The %s name %q must be non-empty and contain no commas, colons or spaces, so that --limit can name it.", what, name)
	}
}

// Group is a named set of hosts, selectable with --limit.
type Group struct {
	Name      string
	Hosts     []string // host names, in the order given
	DeclRange hcl.Range
	NameRange hcl.Range

	hostsRange hcl.Range
}

var groupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "hosts", Required: true}},
}

func (d *decoder) decodeGroup(block *hcl.Block) *Group {
	g := &Group{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	d.checkName(g.Name, "group", block.LabelRanges[0])
	c := d.content(block.Body, groupSchema)
	if at, ok := c.Attributes["hosts"]; ok {
		g.hostsRange = at.Expr.Range()
		if v, ok := d.strList(at); ok {
			g.Hosts = v
		}
	}
	return g
}
