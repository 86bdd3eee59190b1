package vagrantinv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/kongctl/kongctl/internal/fanout"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Machine is a Vagrant machine with what the inventory needs: its address on
// the private network (reachable from the bastion) and its pinned host key.
type Machine struct {
	Host
	Address string // private-network address
	HostKey string // "ssh-ed25519 AAAA..."
}

// Options shape the inventory. Zero values take the defaults noted.
type Options struct {
	DBMachine      string // name of the database machine (default "db"); every other machine is a Kong node
	DBPort         int    // default 5432
	DBName         string // default "kong"
	DBUser         string // default "kong"
	PasswordFile   string // file on the bastion holding the kong role's password (required)
	From, To       string // Kong versions (required)
	Edition        string // "oss" (default) or "enterprise"
	PackageDir     string // directory of kong_<version>_<arch>.deb on the bastion (required)
	ServiceManager string // "systemd" (default) or "cli"
	SmokePath      string // default "/lab" (lab/provision/seed.sh creates it)
	BackupLocalDir string // default "backups"
	Comment        string // extra comment line at the top
}

func (o Options) withDefaults() Options {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.DBMachine, "db")
	def(&o.DBName, "kong")
	def(&o.DBUser, "kong")
	def(&o.Edition, "oss")
	def(&o.ServiceManager, "systemd")
	def(&o.SmokePath, "/lab")
	def(&o.BackupLocalDir, "backups")
	if o.DBPort == 0 {
		o.DBPort = 5432
	}
	return o
}

// Render writes the inventory for machines. All machines must share one
// login user and identity files (Vagrant's insecure key, or per-machine keys
// set per host). A login user other than root gets `become { method =
// "sudo" }`.
func Render(machines []Machine, opts Options) ([]byte, error) {
	o := opts.withDefaults()
	switch {
	case o.From == "" || o.To == "":
		return nil, fmt.Errorf("render inventory: the versions to upgrade from and to are required")
	case o.PackageDir == "":
		return nil, fmt.Errorf("render inventory: the package directory is required")
	case o.PasswordFile == "":
		return nil, fmt.Errorf("render inventory: the database password file is required")
	case len(machines) == 0:
		return nil, fmt.Errorf("render inventory: no machines")
	}
	var db *Machine
	var kong []Machine
	for i := range machines {
		m := machines[i]
		if m.Address == "" || m.HostKey == "" {
			return nil, fmt.Errorf("render inventory: machine %s has no address or host key", m.Name)
		}
		if m.Name == o.DBMachine {
			db = &machines[i]
		} else {
			kong = append(kong, m)
		}
	}
	if db == nil {
		return nil, fmt.Errorf("render inventory: no machine named %q for the database (set the database machine's name)", o.DBMachine)
	}
	if len(kong) == 0 {
		return nil, fmt.Errorf("render inventory: no Kong machines besides %q", o.DBMachine)
	}
	first := machines[0]
	user := first.User
	if user == "" {
		user = "vagrant"
	}

	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(
		"# kongctl inventory of Vagrant VMs, written by `kongctl inventory vagrant`.\n" +
			"# Addresses are on the VMs' private network; host keys were read from each VM\n" +
			"# and checked against the key its private address serves.\n")}})
	if o.Comment != "" {
		root.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + o.Comment + "\n")}})
	}
	root.AppendNewline()

	ssh := root.AppendNewBlock("ssh", nil).Body()
	ssh.SetAttributeValue("user", cty.StringVal(user))
	ssh.SetAttributeValue("private_keys", strList(first.IdentityFiles))
	ssh.SetAttributeValue("use_agent", cty.False)
	ssh.SetAttributeValue("host_key_policy", cty.StringVal("strict"))
	ssh.SetAttributeValue("connect_timeout", cty.StringVal("20s"))
	ssh.SetAttributeValue("keepalive", cty.StringVal("15s"))
	if user != "root" {
		ssh.AppendNewline()
		ssh.AppendNewBlock("become", nil).Body().SetAttributeValue("method", cty.StringVal("sudo"))
	}

	writeHost := func(m Machine, role string) {
		root.AppendNewline()
		b := root.AppendNewBlock("host", []string{m.Name}).Body()
		b.SetAttributeValue("address", cty.StringVal(m.Address))
		b.SetAttributeValue("port", cty.NumberIntVal(22))
		b.SetAttributeValue("roles", strList([]string{role}))
		b.SetAttributeValue("tags", strList([]string{"vagrant"}))
		b.SetAttributeValue("host_key", cty.StringVal(m.HostKey))
		mu := m.User
		if mu == "" {
			mu = "vagrant"
		}
		if mu != user || !equalStrings(m.IdentityFiles, first.IdentityFiles) {
			b.AppendNewline()
			s := b.AppendNewBlock("ssh", nil).Body()
			s.SetAttributeValue("user", cty.StringVal(mu))
			s.SetAttributeValue("private_keys", strList(m.IdentityFiles))
		}
	}
	writeHost(*db, "database")
	var names []string
	for _, m := range kong {
		writeHost(m, "kong")
		names = append(names, m.Name)
	}
	root.AppendNewline()
	root.AppendNewBlock("group", []string{"kong"}).Body().SetAttributeValue("hosts", strList(names))

	root.AppendNewline()
	d := root.AppendNewBlock("database", nil).Body()
	d.SetAttributeValue("host", cty.StringVal(db.Address))
	d.SetAttributeValue("port", cty.NumberIntVal(int64(o.DBPort)))
	d.SetAttributeValue("name", cty.StringVal(o.DBName))
	d.SetAttributeValue("user", cty.StringVal(o.DBUser))
	d.SetAttributeValue("schema", cty.StringVal("public"))
	d.SetAttributeValue("tls_mode", cty.StringVal("disable"))
	d.SetAttributeValue("password_file", cty.StringVal(o.PasswordFile))
	d.SetAttributeValue("tools_host", cty.StringVal(db.Name))

	root.AppendNewline()
	u := root.AppendNewBlock("upgrade", nil).Body()
	u.SetAttributeValue("from", cty.StringVal(o.From))
	u.SetAttributeValue("to", cty.StringVal(o.To))
	u.SetAttributeValue("edition", cty.StringVal(o.Edition))
	u.SetAttributeValue("kong_conf", cty.StringVal("/etc/kong/kong.conf"))
	u.SetAttributeValue("prefix", cty.StringVal("/usr/local/kong"))
	u.SetAttributeValue("service_manager", cty.StringVal(o.ServiceManager))
	u.SetAttributeValue("migration_host", cty.StringVal(kong[0].Name))
	u.SetAttributeValue("on_failure", cty.StringVal("rollback"))
	u.AppendNewline()
	p := u.AppendNewBlock("package", nil).Body()
	p.SetAttributeValue("source", cty.StringVal("file"))
	p.SetAttributeValue("dir", cty.StringVal(o.PackageDir))

	root.AppendNewline()
	v := root.AppendNewBlock("verify", nil).Body()
	v.SetAttributeValue("soak", cty.StringVal("10s"))
	v.AppendNewline()
	sm := v.AppendNewBlock("smoke", nil).Body()
	sm.SetAttributeValue("path", cty.StringVal(o.SmokePath))
	sm.SetAttributeValue("status", cty.NumberIntVal(200))

	root.AppendNewline()
	bk := root.AppendNewBlock("backup", nil).Body()
	bk.SetAttributeValue("dir", cty.StringVal("/var/backups/kongctl"))
	bk.SetAttributeValue("local_dir", cty.StringVal(o.BackupLocalDir))
	bk.SetAttributeValue("retention", cty.NumberIntVal(5))

	// Emulated VMs are slow: give every phase room.
	root.AppendNewline()
	t := root.AppendNewBlock("timeouts", nil).Body()
	t.SetAttributeValue("stop", cty.StringVal("120s"))
	t.SetAttributeValue("install", cty.StringVal("10m"))
	t.SetAttributeValue("migrations", cty.StringVal("10m"))
	t.SetAttributeValue("start", cty.StringVal("180s"))
	return hclwrite.Format(f.Bytes()), nil
}

func strList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// GenerateOptions configure Generate.
type GenerateOptions struct {
	Options
	// Network is the private network the inventory's addresses come from;
	// invalid (zero) = the address on an interface without a default route
	// that Vagrant does not connect to.
	Network netip.Prefix
	// Addresses and HostKeys override what probing finds, by machine name.
	Addresses map[string]string
	HostKeys  map[string]string
	// SkipAddressCheck leaves out the check that each chosen address serves
	// the machine's host key (for a bastion that cannot reach the private
	// network itself).
	SkipAddressCheck bool
	Timeout          time.Duration // per connection, default 30s
	// Probe replaces Probe (tests).
	Probe func(ctx context.Context, h Host, timeout time.Duration) (*Facts, error)
	// Scan replaces ScanHostKey (tests).
	Scan func(ctx context.Context, addr string, timeout time.Duration) (string, error)
}

// Generate parses `vagrant ssh-config` output from r, probes every machine
// (in parallel), and renders the inventory.
func Generate(ctx context.Context, r io.Reader, opts GenerateOptions) ([]byte, error) {
	hosts, err := Parse(r)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	probe, scan := opts.Probe, opts.Scan
	if probe == nil {
		probe = Probe
	}
	if scan == nil {
		scan = ScanHostKey
	}
	// Every machine at once: a Vagrant project has a handful.
	machines := make([]Machine, len(hosts))
	idx := make([]int, len(hosts))
	for i := range idx {
		idx[i] = i
	}
	errs := fanout.Each(ctx, idx, 0, func(ctx context.Context, i int) error {
		m, err := resolve(ctx, hosts[i], opts, probe, scan)
		machines[i] = m
		return err
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return Render(machines, opts.Options)
}

func resolve(ctx context.Context, h Host, opts GenerateOptions, probe func(context.Context, Host, time.Duration) (*Facts, error), scan func(context.Context, string, time.Duration) (string, error)) (Machine, error) {
	m := Machine{Host: h, Address: opts.Addresses[h.Name], HostKey: opts.HostKeys[h.Name]}
	if m.Address == "" || m.HostKey == "" {
		f, err := probe(ctx, h, opts.Timeout)
		if err != nil {
			return m, err
		}
		if m.Address == "" {
			a, err := ChooseAddress(f, opts.Network, h.HostName)
			if err != nil {
				return m, fmt.Errorf("machine %s: %w", h.Name, err)
			}
			m.Address = a.String()
		}
		if m.HostKey == "" {
			m.HostKey = f.HostKey
		}
	}
	if !opts.SkipAddressCheck {
		got, err := scan(ctx, net.JoinHostPort(m.Address, strconv.Itoa(22)), opts.Timeout)
		if err != nil {
			return m, fmt.Errorf("machine %s: check the private address: %w", h.Name, err)
		}
		if got != m.HostKey {
			return m, fmt.Errorf("machine %s: %s:22 serves host key %s, not the machine's %s", h.Name, m.Address, got, m.HostKey)
		}
	}
	return m, nil
}
