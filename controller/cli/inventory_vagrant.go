package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/inventory/vagrantinv"
)

type inventoryVagrantOptions struct {
	dir, out           string
	network            string
	addresses, keys    []string
	noAddressCheck     bool
	timeout            time.Duration
	gen                vagrantinv.Options
	packages, password string
}

func (a *app) newInventoryVagrantCmd() *cobra.Command {
	var o inventoryVagrantOptions
	cmd := &cobra.Command{
		Use:   "vagrant",
		Short: "Write an inventory for Vagrant VMs from `vagrant ssh-config`",
		Long: `Turn the output of "vagrant ssh-config" (read from stdin, or run in --dir)
into a hosts.hcl (with --output json, a hosts.json in HCL JSON syntax) for
"kongctl upgrade -i": one host per machine, the
database machine (--db) with role "database" and every other machine a Kong
node; addresses on the VMs' private network; Vagrant's user and keys, with
become sudo when the user is not root; service_manager "systemd"; the
database, upgrade and package settings from the flags.

Each machine is probed once the way "vagrant ssh" connects: its addresses
and /etc/ssh/ssh_host_ed25519_key.pub are read, and the key is checked
against the one the server presents. The key is pinned in the inventory
(host_key, policy strict), after checking that the chosen private address
serves that same key (--no-address-check skips this when the bastion cannot
reach the private network). --address and --host-key give them without a
probe.

The result is loaded back and must have no diagnostics; it goes to --out
(atomically) or stdout.`,
		Example: `  kongctl inventory vagrant --dir . --network 198.19.10.0/24 --from 2.8.4 --to 3.4.2 \
      --packages build/packages --db-password-file build/vagrant/pg_password --out build/vagrant/hosts.hcl
  vagrant ssh-config | kongctl inventory vagrant --from 2.8.4 --to 3.4.2 --packages pkgs --db-password-file pw > hosts.hcl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.inventoryVagrant(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "run `vagrant ssh-config` in this directory (default: read its output from stdin)")
	f.StringVar(&o.out, "out", "", "write the inventory to this file (default stdout)")
	f.StringVar(&o.network, "network", "", "the VMs' private network, e.g. 198.19.10.0/24 (default: the address on an interface without a default route that Vagrant does not connect to)")
	f.StringArrayVar(&o.addresses, "address", nil, "NAME=IP: a machine's private address, without probing (repeatable)")
	f.StringArrayVar(&o.keys, "host-key", nil, `NAME="ssh-ed25519 AAAA...": a machine's host key, without probing (repeatable)`)
	f.BoolVar(&o.noAddressCheck, "no-address-check", false, "do not check that each private address serves the machine's host key")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout per SSH connection")
	f.StringVar(&o.gen.DBMachine, "db", "db", "name of the database machine; every other machine is a Kong node")
	f.IntVar(&o.gen.DBPort, "db-port", 5432, "PostgreSQL port")
	f.StringVar(&o.gen.DBName, "db-name", "kong", "Kong's database")
	f.StringVar(&o.gen.DBUser, "db-user", "kong", "Kong's database role")
	f.StringVar(&o.password, "db-password-file", "", "file on this machine holding the database role's password (required)")
	f.StringVar(&o.gen.From, "from", "", "Kong version installed on the VMs (required)")
	f.StringVar(&o.gen.To, "to", "", "Kong version to upgrade to (required)")
	f.StringVar(&o.gen.Edition, "edition", "oss", "oss or enterprise")
	f.StringVar(&o.packages, "packages", "", "directory holding kong_<version>_<arch>.deb (required)")
	f.StringVar(&o.gen.ServiceManager, "service-manager", "systemd", "systemd or cli")
	f.StringVar(&o.gen.SmokePath, "smoke-path", "/lab", "path requested through each node's proxy to verify it")
	for _, name := range []string{"from", "to", "packages", "db-password-file"} {
		_ = cmd.MarkFlagRequired(name)
	}
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("packages")
	return cmd
}

func (a *app) inventoryVagrant(cmd *cobra.Command, o inventoryVagrantOptions) error {
	if a.json() && o.out != "" && filepath.Ext(o.out) != ".json" {
		return usageErrorf("--output json writes the inventory in HCL JSON syntax, which kongctl reads only from files named *.json; not %q", o.out)
	}
	g := vagrantinv.GenerateOptions{Options: o.gen, Timeout: o.timeout, SkipAddressCheck: o.noAddressCheck}
	if o.network != "" {
		p, err := netip.ParsePrefix(o.network)
		if err != nil {
			return usageErrorf("--network %q: %v", o.network, err)
		}
		g.Network = p.Masked()
	}
	var err error
	if g.Addresses, err = nameValues("--address", o.addresses); err != nil {
		return err
	}
	if g.HostKeys, err = nameValues("--host-key", o.keys); err != nil {
		return err
	}
	if g.PackageDir, err = filepath.Abs(o.packages); err != nil {
		return usageErrorf("--packages: %v", err)
	}
	if g.PasswordFile, err = filepath.Abs(o.password); err != nil {
		return usageErrorf("--db-password-file: %v", err)
	}

	ctx := cmd.Context()
	src := a.streams.in
	if o.dir != "" {
		c := exec.CommandContext(ctx, "vagrant", "ssh-config")
		c.Dir = o.dir
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("vagrant ssh-config in %s: %w: %s", o.dir, err, strings.TrimSpace(stderr.String()))
		}
		src = bytes.NewReader(out)
	}
	g.Comment = "from=" + o.gen.From + " to=" + o.gen.To
	doc, err := vagrantinv.Generate(ctx, src, g)
	if err != nil {
		return err
	}

	name := o.out
	if name == "" {
		name = inventory.DefaultFile
	}
	if a.json() {
		// The generated document is native syntax: load it as such, from
		// beside --out, so relative paths resolve where the JSON will be.
		name = strings.TrimSuffix(name, ".json") + ".hcl"
	}
	inv, diags := inventory.LoadBytes(name, doc)
	if len(diags) > 0 {
		a.renderDiags(a.streams.err, inv.Files, diags)
		return fmt.Errorf("the generated inventory does not load cleanly (%s); this is a bug in kongctl inventory vagrant", countErrors(diags))
	}
	if a.json() {
		// HCL JSON syntax, as inventory show -o json writes it.
		b, err := json.MarshalIndent(inventory.Redacted(inv), "", "  ")
		if err != nil {
			return fmt.Errorf("inventory as JSON: %w", err)
		}
		doc = append(b, '\n')
	}
	if o.out == "" {
		_, err = a.streams.out.Write(doc)
		return err
	}
	tmp := o.out + ".tmp"
	if err := os.WriteFile(tmp, doc, 0o644); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	if err := os.Rename(tmp, o.out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write inventory: %w", err)
	}
	if !a.quiet {
		fmt.Fprintf(a.streams.err, "%s: %s\n", o.out, summary(inv))
	}
	return nil
}

// nameValues parses repeated NAME=VALUE flags.
func nameValues(flag string, list []string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || v == "" {
			return nil, usageErrorf("%s %q: want NAME=VALUE", flag, s)
		}
		m[k] = v
	}
	return m, nil
}
