package labenv

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/inventory"
)

func testOptions(t *testing.T, o Options) Options {
	t.Helper()
	o.Dir = "/nonexistent/kongctl-lab-test/lab" // normalize touches no files
	o.PackagesDir = "/srv/packages"
	n, err := o.normalize()
	if err != nil {
		t.Fatalf("normalize(%+v): %v", o, err)
	}
	return n
}

func TestNormalizeDefaults(t *testing.T) {
	o := testOptions(t, Options{})
	if o.Nodes != 3 || o.From != "2.8.4" || o.To != "3.4.2" || o.Edition != "oss" || o.User != "root" || o.DiskMB != 512 {
		t.Errorf("defaults = %+v", o)
	}
	ee := testOptions(t, Options{Edition: "enterprise"})
	if ee.From != "3.4.3.5" || ee.To != "3.10.0.2" {
		t.Errorf("enterprise defaults = %s -> %s, want 3.4.3.5 -> 3.10.0.2", ee.From, ee.To)
	}
	h := testOptions(t, Options{Hybrid: true})
	if h.DPs != 1 {
		t.Errorf("hybrid DPs = %d, want 1", h.DPs)
	}
}

func TestNormalizeRejects(t *testing.T) {
	for name, o := range map[string]Options{
		"too many nodes":  {Nodes: 65},
		"negative":        {Nodes: -1},
		"oss 4-part":      {From: "3.4.3.5"},
		"ee 3-part":       {Edition: "enterprise", From: "3.4.2"},
		"bad edition":     {Edition: "gold"},
		"dps not hybrid":  {DPs: 2},
		"bad user":        {User: "Root;rm"},
		"dir under /etc":  {Dir: "/etc/lab", PackagesDir: "/srv"},
		"tiny disk":       {DiskMB: 4},
		"too many spares": {Spares: 100},
	} {
		t.Run(name, func(t *testing.T) {
			if o.Dir == "" {
				o.Dir = "/nonexistent/lab"
				o.PackagesDir = "/srv/packages"
			}
			if _, err := o.normalize(); err == nil {
				t.Errorf("normalize(%+v) succeeded, want an error", o)
			}
		})
	}
}

func TestPlanAddresses(t *testing.T) {
	o := testOptions(t, Options{Nodes: 64, Hybrid: true, DPs: 2, Spares: 1})
	hs := plan(o)
	if len(hs) != 1+64+2+1 {
		t.Fatalf("plan has %d hosts, want 68", len(hs))
	}
	want := map[string]string{"db": "198.18.0.2", "kong-1": "198.18.1.1", "kong-64": "198.18.1.64", "dp-2": "198.18.2.2", "spare-1": "198.18.3.1"}
	seenAddr, seenVeth := map[string]bool{}, map[string]bool{}
	for _, h := range hs {
		if w, ok := want[h.Name]; ok && h.Address != w {
			t.Errorf("%s address = %s, want %s", h.Name, h.Address, w)
		}
		if seenAddr[h.Address] || seenVeth[h.Veth] {
			t.Errorf("%s: duplicate address %s or link %s", h.Name, h.Address, h.Veth)
		}
		seenAddr[h.Address], seenVeth[h.Veth] = true, true
		if len(h.Veth) > 15 || !strings.HasPrefix(h.Veth, Prefix) || !strings.HasPrefix(h.Netns, Prefix) {
			t.Errorf("%s: link %q / netns %q: want the %q prefix and at most 15 characters", h.Name, h.Veth, h.Netns, Prefix)
		}
		if h.VethNetns != "" {
			t.Errorf("%s: link in netns %q without a bastion", h.Name, h.VethNetns)
		}
	}
	b := plan(testOptions(t, Options{Nodes: 2, Bastion: true}))
	if b[0].Name != "bastion" || b[0].Address != "198.18.0.3" || b[0].VethNetns != "" {
		t.Errorf("bastion = %+v", b[0])
	}
	for _, h := range b[1:] {
		if !strings.HasPrefix(h.Address, "198.19.") || h.VethNetns != Prefix+"bastion" {
			t.Errorf("%s behind the bastion: address %s, link in %q", h.Name, h.Address, h.VethNetns)
		}
	}
}

// TestInventoryLoads renders the inventory of several labs and loads it with
// the product's own loader.
func TestInventoryLoads(t *testing.T) {
	cases := map[string]Options{
		"default":    {},
		"bastion":    {Nodes: 2, Bastion: true, User: "kongops"},
		"hybrid":     {Nodes: 2, Hybrid: true, DPs: 3, Spares: 2},
		"enterprise": {Edition: "enterprise", Nodes: 1},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			o := testOptions(t, o)
			st := &State{Options: o, To: o.To, Dir: o.Dir, DBPort: DBPort, Fingerprint: o.fingerprint(), Hosts: plan(o)}
			for _, h := range st.Hosts {
				h.HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1xZ1Jk3lW0i2T6u4m1f8H4r6oVv8R2m0gkz3c7m9x"
			}
			src := renderInventory(st)
			inv, diags := inventory.LoadBytes(filepath.Join(o.Dir, "hosts.hcl"), []byte(src))
			if diags.HasErrors() {
				t.Fatalf("inventory does not load: %s\n%s", diags.Error(), src)
			}
			if len(inv.Hosts) != len(st.Hosts) {
				t.Errorf("inventory has %d hosts, want %d", len(inv.Hosts), len(st.Hosts))
			}
			if inv.Upgrade == nil || inv.Database == nil {
				t.Fatalf("inventory lacks upgrade or database block:\n%s", src)
			}
			for _, h := range inv.Hosts {
				if h.SSH.User != o.User {
					t.Errorf("host %s: ssh user %q, want %q", h.Name, h.SSH.User, o.User)
				}
				wantJump := o.Bastion && h.Name != "bastion"
				if got := len(h.SSH.Jump) > 0; got != wantJump {
					t.Errorf("host %s: jump %v, want jump=%t", h.Name, h.SSH.Jump, wantJump)
				}
				if (o.User != "root") != (h.SSH.Become != nil) {
					t.Errorf("host %s: become %+v with user %s", h.Name, h.SSH.Become, o.User)
				}
			}
			for _, want := range []string{
				`from            = "` + o.From + `"`,
				`to              = "` + o.To + `"`,
				`edition         = "` + o.Edition + `"`,
				`dir    = "/srv/packages"`,
				`password_file = "pg_password"`,
				`tools_host    = "db"`,
				`service_manager = "cli"`,
				`path   = "/lab"`,
			} {
				if !strings.Contains(src, want) {
					t.Errorf("inventory lacks %q:\n%s", want, src)
				}
			}
		})
	}
}

func TestHCLString(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:    `"plain"`,
		`a"b\c`:    `"a\"b\\c"`,
		"${x}%{y}": `"$${x}%%{y}"`,
	} {
		if got := hclString(in); got != want {
			t.Errorf("hclString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPackageFile(t *testing.T) {
	if got := PackageFile("oss", "2.8.4"); got != "kong_2.8.4_amd64.deb" {
		t.Errorf("oss package = %s", got)
	}
	if got := PackageFile("enterprise", "3.4.3.5"); got != "kong-enterprise-edition_3.4.3.5_amd64.deb" {
		t.Errorf("enterprise package = %s", got)
	}
}

// TestForEachBounds runs every item, with at most n at once, also for n = 0
// (options read back from state.json carry no concurrency).
func TestForEachBounds(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		var mu sync.Mutex
		running, peak, done := 0, 0, 0
		err := forEach(context.Background(), n, make([]int, 20), func(context.Context, int) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			running--
			done++
			mu.Unlock()
			return nil
		})
		limit := n
		if n <= 0 {
			limit = DefaultConcurrency
		}
		if err != nil || done != 20 || peak > limit {
			t.Errorf("forEach(n=%d): err %v, done %d, peak %d (limit %d)", n, err, done, peak, limit)
		}
	}
}
