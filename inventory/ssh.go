package inventory

import (
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// HostKeyPolicy says how a server's host key is checked.
type HostKeyPolicy string

const (
	// HostKeyStrict accepts only keys in known_hosts or pinned by host_key.
	HostKeyStrict HostKeyPolicy = "strict"
	// HostKeyAcceptNew records unknown hosts' keys but refuses changed ones.
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
)

// SSH holds the resolved SSH settings for a host: the global ssh block with
// the host's own ssh block (and host-level user) merged on top. Paths are
// absolute.
type SSH struct {
	User              string
	PrivateKeys       []string // key files
	UseAgent          bool     // use SSH_AUTH_SOCK
	KnownHosts        []string // known_hosts files
	HostKeyPolicy     HostKeyPolicy
	Jump              []string // names of bastion hosts, outermost first
	SSHConfig         string   // ssh_config file; default ~/.ssh/config when it exists, "" = none
	ConnectTimeout    time.Duration
	Keepalive         time.Duration
	ConnectRetries    int
	Concurrency       int // hosts worked on at once (fleet-wide setting)
	UploadConcurrency int // uploads at once (fleet-wide setting)
	Become            *Become
}

// Become says how commands are raised to root. It never holds the password
// itself, only where to find it.
type Become struct {
	Method   string // "sudo"
	User     string // target user, default "root"
	Password Secret // optional; empty means passwordless (NOPASSWD)
}

// Defaults for SSH settings.
const (
	DefaultSSHUser           = "root"
	DefaultConnectTimeout    = 10 * time.Second
	DefaultKeepalive         = 15 * time.Second
	DefaultConnectRetries    = 3
	DefaultConcurrency       = 16
	DefaultUploadConcurrency = 8
)

func defaultSSH() SSH {
	return SSH{
		User:              DefaultSSHUser,
		HostKeyPolicy:     HostKeyStrict,
		ConnectTimeout:    DefaultConnectTimeout,
		Keepalive:         DefaultKeepalive,
		ConnectRetries:    DefaultConnectRetries,
		Concurrency:       DefaultConcurrency,
		UploadConcurrency: DefaultUploadConcurrency,
	}
}

// defaultSSHConfig is ~/.ssh/config when it exists, as ssh reads it
// without -F; "" otherwise.
func (d *decoder) defaultSSHConfig() string {
	home, err := d.home()
	if err != nil || home == "" {
		return ""
	}
	p := filepath.Join(home, ".ssh", "config")
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return ""
	}
	return p
}

func (s SSH) clone() SSH {
	c := s
	c.PrivateKeys = append([]string(nil), s.PrivateKeys...)
	c.KnownHosts = append([]string(nil), s.KnownHosts...)
	c.Jump = append([]string(nil), s.Jump...)
	if s.Become != nil {
		b := *s.Become
		c.Become = &b
	}
	return c
}

var sshAttrs = []hcl.AttributeSchema{
	{Name: "user"},
	{Name: "private_keys"},
	{Name: "use_agent"},
	{Name: "known_hosts"},
	{Name: "host_key_policy"},
	{Name: "jump"},
	{Name: "ssh_config"},
	{Name: "connect_timeout"},
	{Name: "keepalive"},
	{Name: "connect_retries"},
}

// globalSSHSchema is the top-level ssh block; hostSSHSchema the per-host
// override, which leaves out the fleet-wide concurrency settings.
var (
	globalSSHSchema = &hcl.BodySchema{
		Attributes: append(append([]hcl.AttributeSchema{}, sshAttrs...),
			hcl.AttributeSchema{Name: "concurrency"},
			hcl.AttributeSchema{Name: "upload_concurrency"}),
		Blocks: []hcl.BlockHeaderSchema{{Type: "become"}},
	}
	hostSSHSchema = &hcl.BodySchema{
		Attributes: sshAttrs,
		Blocks:     []hcl.BlockHeaderSchema{{Type: "become"}},
	}
	becomeSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "method"},
			{Name: "user"},
			{Name: "password"},
			{Name: "password_env"},
			{Name: "password_file"},
		},
	}
)

// sshRanges records where jump lists were set, for later cross-checks.
type sshRanges struct {
	jump hcl.Range
}

// applySSH decodes an ssh block onto s: only attributes present change s.
func (d *decoder) applySSH(s *SSH, block *hcl.Block, schema *hcl.BodySchema) sshRanges {
	var rs sshRanges
	c := d.content(block.Body, schema)
	a := c.Attributes
	setAttr(a, "user", &s.User, d.nonEmpty)
	setAttr(a, "private_keys", &s.PrivateKeys, d.paths)
	setAttr(a, "use_agent", &s.UseAgent, d.boolean)
	setAttr(a, "known_hosts", &s.KnownHosts, d.paths)
	if at, ok := a["host_key_policy"]; ok {
		if v, ok := d.oneOf(at, string(HostKeyStrict), string(HostKeyAcceptNew)); ok {
			s.HostKeyPolicy = HostKeyPolicy(v)
		}
	}
	if at, ok := a["jump"]; ok {
		if v, ok := d.strList(at); ok {
			s.Jump = v
			rs.jump = at.Expr.Range()
		}
	}
	if at, ok := a["ssh_config"]; ok {
		// ssh_config = "" turns the default ~/.ssh/config off.
		if v, ok := d.str(at); ok && v == "" {
			s.SSHConfig = ""
		} else if ok {
			if p, ok := d.path(at); ok {
				s.SSHConfig = p
			}
		}
	}
	setAttr(a, "connect_timeout", &s.ConnectTimeout, d.durationOf(false))
	setAttr(a, "keepalive", &s.Keepalive, d.durationOf(true))
	setAttr(a, "connect_retries", &s.ConnectRetries, d.intIn(0, 100))
	setAttr(a, "concurrency", &s.Concurrency, d.intIn(1, 1024))
	setAttr(a, "upload_concurrency", &s.UploadConcurrency, d.intIn(1, 1024))
	if b := d.single(c.Blocks.OfType("become"), "become"); b != nil {
		s.Become = d.decodeBecome(b)
	}
	return rs
}

func (d *decoder) decodeBecome(block *hcl.Block) *Become {
	c := d.content(block.Body, becomeSchema)
	b := &Become{Method: "sudo", User: "root"}
	setAttr(c.Attributes, "method", &b.Method, d.choice("sudo", "none"))
	setAttr(c.Attributes, "user", &b.User, d.nonEmpty)
	b.Password = d.decodeSecret(c.Attributes, "become password")
	if b.Method == "none" {
		return nil
	}
	return b
}
