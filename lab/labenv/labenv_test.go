package labenv

import (
	"context"
	"fmt"
	"net/netip"
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
	if r := testOptions(t, Options{Edition: "enterprise", RBAC: true}); !r.RBAC {
		t.Errorf("enterprise RBAC lost: %+v", r)
	}
	if r := testOptions(t, Options{Edition: "enterprise", Keyring: true}); !r.Keyring {
		t.Errorf("enterprise keyring lost: %+v", r)
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
		"rbac on oss":     {RBAC: true},
		"keyring on oss":  {Keyring: true},
		"envconf hybrid":  {EnvConf: true, Hybrid: true},
		"negative rows":   {Rows: -1},
		"too many rows":   {Rows: MaxRows + 1},
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
		if len(h.Veth) > 15 || !strings.HasPrefix(h.Veth, "kl-") || !strings.HasPrefix(h.Netns, "kl-") {
			t.Errorf("%s: link %q / netns %q: want the kl- prefix and at most 15 characters", h.Name, h.Veth, h.Netns)
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
		if !strings.HasPrefix(h.Address, "198.19.") || h.VethNetns != "kl-bastion" {
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
		"rbac":       {Edition: "enterprise", Nodes: 1, RBAC: true},
		"envconf":    {Nodes: 2, EnvConf: true},
		"lb":         {Nodes: 3, LB: true},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			o := testOptions(t, o)
			if o.RBAC {
				o.Dir = t.TempDir() // the token file is checked when the inventory loads
			}
			st := &State{Options: o, To: o.To, Dir: o.Dir, DBPort: DBPort, Fingerprint: o.fingerprint(), Hosts: plan(o)}
			for _, h := range st.Hosts {
				h.HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1xZ1Jk3lW0i2T6u4m1f8H4r6oVv8R2m0gkz3c7m9x"
			}
			src := renderInventory(st)
			tokenFile := filepath.Join(o.Dir, AdminTokenFile)
			if o.RBAC {
				if _, err := ensureSecretFile(tokenFile); err != nil {
					t.Fatal(err)
				}
			}
			inv, diags := inventory.LoadBytes(filepath.Join(o.Dir, "hosts.hcl"), []byte(src))
			if diags.HasErrors() {
				t.Fatalf("inventory does not load: %s\n%s", diags.Error(), src)
			}
			if got := inv.Upgrade != nil && inv.Upgrade.ServiceEnvFile == ServiceEnvFile; got != o.EnvConf {
				t.Errorf("upgrade.service_env_file wrong with EnvConf %v:\n%s", o.EnvConf, src)
			}
			if got := inv.Kong != nil && inv.Kong.AdminToken.File == tokenFile; got != o.RBAC {
				t.Errorf("kong.admin_token_file = %+v with RBAC %v", inv.Kong, o.RBAC)
			}
			if lb := inv.LoadBalancer; (lb != nil) != o.LB || (lb != nil && (lb.Host != LBHostName || lb.Backend != LBBackend || lb.Socket != LBSocket)) {
				t.Errorf("load_balancer %+v with LB %v", lb, o.LB)
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

// TestNetworkLab0 pins lab 0 to the names and addresses labs had before IDs
// (make lab-up, make rehearsal and the README rely on them).
func TestNetworkLab0(t *testing.T) {
	n := NetworkOf(0)
	want := Network{ID: 0, Prefix: "kl-", Bridge: "klbr0", InnerBridge: "klbr1", BridgeAddr: "198.18.0.1",
		OuterNet: "198.18.0.0/19", InnerGW: "198.19.0.1", InnerNet: "198.19.0.0/19"}
	if n != want {
		t.Errorf("NetworkOf(0) = %+v, want %+v", n, want)
	}
	if DirName(0) != "lab" || DirName(3) != "lab3" {
		t.Errorf("DirName(0), DirName(3) = %q, %q; want lab, lab3", DirName(0), DirName(3))
	}
	o := testOptions(t, Options{Nodes: 2, Bastion: true})
	for _, h := range plan(o) {
		want := map[string]string{"bastion": "198.18.0.3", "db": "198.19.0.2", "kong-1": "198.19.1.1", "kong-2": "198.19.1.2"}[h.Name]
		if h.Address != want || h.Netns != "kl-"+h.Name || h.Veth != "kl-"+h.Name {
			t.Errorf("lab 0 %s: address %s netns %s link %s; want %s, kl-%s", h.Name, h.Address, h.Netns, h.Veth, want, h.Name)
		}
	}
}

// TestNetworkPlanPerID lays out the largest lab of every ID: addresses in the
// lab's own /19s and nowhere else, names at most 15 characters, and no name,
// address or network shared between IDs; each ID's Down matchers claim its
// own names and none of another ID's.
func TestNetworkPlanPerID(t *testing.T) {
	addrOwner := map[string]int{}
	nameOwner := map[string]int{}
	var nets []netip.Prefix
	plans := map[int][]*Host{}
	for id := 0; id <= MaxID; id++ {
		n := NetworkOf(id)
		if n.ID != id {
			t.Fatalf("NetworkOf(%d).ID = %d", id, n.ID)
		}
		if id > 0 && (n.Prefix != fmt.Sprintf("kl%d-", id) || n.Bridge != fmt.Sprintf("klb%do", id) || n.InnerBridge != fmt.Sprintf("klb%di", id)) {
			t.Errorf("lab %d names: %+v", id, n)
		}
		outer, inner := netip.MustParsePrefix(n.OuterNet), netip.MustParsePrefix(n.InnerNet)
		if outer.Bits() != 19 || inner.Bits() != 19 || outer.Masked() != outer || inner.Masked() != inner {
			t.Errorf("lab %d: networks %s, %s: want canonical /19s", id, outer, inner)
		}
		if w := fmt.Sprintf("198.18.%d.0/19", 32*id); n.OuterNet != w {
			t.Errorf("lab %d outer = %s, want %s", id, n.OuterNet, w)
		}
		if !netip.MustParsePrefix("198.18.0.0/15").Contains(outer.Addr()) || !netip.MustParsePrefix("198.18.0.0/15").Contains(inner.Addr()) {
			t.Errorf("lab %d: networks outside 198.18.0.0/15", id)
		}
		if !outer.Contains(netip.MustParseAddr(n.BridgeAddr)) || !inner.Contains(netip.MustParseAddr(n.InnerGW)) {
			t.Errorf("lab %d: bridge %s / gateway %s outside %s / %s", id, n.BridgeAddr, n.InnerGW, outer, inner)
		}
		nets = append(nets, outer, inner)
		for _, name := range []string{n.Bridge, n.InnerBridge} {
			if len(name) > 15 {
				t.Errorf("lab %d: bridge %q longer than 15", id, name)
			}
			nameOwner[name] = id
		}
		addrOwner[n.BridgeAddr], addrOwner[n.InnerGW] = id, id
		for _, bastion := range []bool{false, true} {
			o := testOptions(t, Options{ID: id, Nodes: MaxNodes, Hybrid: true, DPs: MaxNodes, Spares: MaxNodes, Bastion: bastion})
			hs := plan(o)
			if len(hs) != 1+3*MaxNodes+map[bool]int{false: 0, true: 1}[bastion] {
				t.Fatalf("lab %d: plan has %d hosts", id, len(hs))
			}
			for _, h := range hs {
				a := netip.MustParseAddr(h.Address)
				in := outer
				if bastion && h.Kind != KindBastion {
					in = inner
				}
				if !in.Contains(a) || a == netip.MustParseAddr(n.BridgeAddr) || a == netip.MustParseAddr(n.InnerGW) {
					t.Errorf("lab %d %s (bastion=%t): address %s not a host address in %s", id, h.Name, bastion, a, in)
				}
				if len(h.Veth) > 15 || len(h.Netns) > 15 || !n.ownsNetns(h.Netns) || !n.ownsLink(h.Veth) {
					t.Errorf("lab %d %s: netns %q, link %q: want %q names of at most 15 characters", id, h.Name, h.Netns, h.Veth, n.Prefix)
				}
				if bastion && h.Kind != KindBastion && h.VethNetns != n.Prefix+"bastion" {
					t.Errorf("lab %d %s: link in %q, want %sbastion", id, h.Name, h.VethNetns, n.Prefix)
				}
				if owner, ok := addrOwner[h.Address]; ok && owner != id {
					t.Errorf("address %s is in lab %d and lab %d", h.Address, owner, id)
				}
				addrOwner[h.Address] = id
				for _, name := range []string{h.Netns, h.Veth} {
					if owner, ok := nameOwner[name]; ok && owner != id {
						t.Errorf("name %s is in lab %d and lab %d", name, owner, id)
					}
					nameOwner[name] = id
				}
			}
			if bastion {
				plans[id] = hs
			}
		}
		// Group addresses: kong-64, dp-64 and spare-64 land where the plan says.
		hs := plans[id]
		byName := map[string]string{}
		for _, h := range hs {
			byName[h.Name] = h.Address
		}
		for name, w := range map[string]string{
			"bastion":  fmt.Sprintf("198.18.%d.3", 32*id),
			"db":       fmt.Sprintf("198.19.%d.2", 32*id),
			"kong-64":  fmt.Sprintf("198.19.%d.64", 32*id+1),
			"dp-1":     fmt.Sprintf("198.19.%d.1", 32*id+2),
			"spare-64": fmt.Sprintf("198.19.%d.64", 32*id+3),
		} {
			if byName[name] != w {
				t.Errorf("lab %d %s = %s, want %s", id, name, byName[name], w)
			}
		}
	}
	for i := range nets {
		for j := range nets {
			if i != j && nets[i].Overlaps(nets[j]) {
				t.Errorf("networks %s and %s overlap", nets[i], nets[j])
			}
		}
	}
	// Every name is claimed by its own lab's Down and by no other's.
	for name, owner := range nameOwner {
		for id := 0; id <= MaxID; id++ {
			n := NetworkOf(id)
			claims := n.ownsLink(name) || n.ownsNetns(name)
			if claims != (id == owner) {
				t.Errorf("lab %d's Down claims %q = %t (it belongs to lab %d)", id, name, claims, owner)
			}
		}
	}
	// Machine links that are no lab's.
	for _, name := range []string{"klbr2", "klbr", "eth0", "virbr1", "kl", "klb1", "klb8o", "kl8-x"} {
		for id := 0; id <= MaxID; id++ {
			if NetworkOf(id).ownsLink(name) {
				t.Errorf("lab %d's Down claims the link %q", id, name)
			}
		}
	}
}

func TestLabID(t *testing.T) {
	t.Setenv(EnvID, "")
	if o := testOptions(t, Options{}); o.ID != 0 {
		t.Errorf("ID without %s = %d, want 0", EnvID, o.ID)
	}
	t.Setenv(EnvID, "6")
	if o := testOptions(t, Options{}); o.ID != 6 {
		t.Errorf("ID with %s=6 = %d, want 6", EnvID, o.ID)
	}
	if o := testOptions(t, Options{ID: 2}); o.ID != 2 {
		t.Errorf("explicit ID 2 with %s=6 = %d, want 2", EnvID, o.ID)
	}
	if a, b := testOptions(t, Options{ID: 2}).fingerprint(), testOptions(t, Options{ID: 3}).fingerprint(); a == b {
		t.Errorf("labs 2 and 3 share the fingerprint %q", a)
	}
	for _, bad := range []string{"8", "-1", "x"} {
		t.Setenv(EnvID, bad)
		if _, err := (Options{Dir: "/nonexistent/lab", PackagesDir: "/srv"}).normalize(); err == nil {
			t.Errorf("%s=%s accepted", EnvID, bad)
		}
	}
	t.Setenv(EnvID, "")
	for _, bad := range []int{-1, 8} {
		if _, err := (Options{ID: bad, Dir: "/nonexistent/lab", PackagesDir: "/srv"}).normalize(); err == nil {
			t.Errorf("ID %d accepted", bad)
		}
	}
	for dir, want := range map[string]int{"/r/build/lab": 0, "/r/build/lab5": 5} {
		if id, ok := idFromDirName(dir); !ok || id != want {
			t.Errorf("idFromDirName(%s) = %d, %t; want %d", dir, id, ok, want)
		}
	}
	if _, ok := idFromDirName("/r/build/lab8"); ok {
		t.Errorf("idFromDirName(lab8) claims an ID")
	}
}

// TestDBClientsPerLab: the database admits only its own lab's network.
func TestDBClientsPerLab(t *testing.T) {
	for _, c := range []struct {
		id      int
		bastion bool
		want    string
	}{{0, false, "198.18.0.0/19"}, {0, true, "198.19.0.0/19"}, {5, false, "198.18.160.0/19"}, {7, true, "198.19.224.0/19"}} {
		o := testOptions(t, Options{ID: c.id, Bastion: c.bastion})
		l := &Lab{st: &State{Options: o, Dir: o.Dir}}
		if got := l.dbClients(); got != c.want {
			t.Errorf("lab %d bastion=%t: PG_ALLOW %s, want %s", c.id, c.bastion, got, c.want)
		}
		if env := strings.Join(l.dbEnv(), " "); !strings.Contains(env, "PG_ALLOW="+c.want) {
			t.Errorf("lab %d: db env %s lacks PG_ALLOW=%s", c.id, env, c.want)
		}
	}
}

func TestRowsFingerprintAndSQL(t *testing.T) {
	plain, rows := testOptions(t, Options{}), testOptions(t, Options{Rows: 2000})
	if strings.Contains(plain.fingerprint(), "rows") {
		t.Errorf("a lab without Rows has a new fingerprint: %q", plain.fingerprint())
	}
	if !strings.HasSuffix(rows.fingerprint(), " rows=2000") || strings.TrimSuffix(rows.fingerprint(), " rows=2000") != plain.fingerprint() {
		t.Errorf("fingerprint with Rows = %q, want %q + \" rows=2000\"", rows.fingerprint(), plain.fingerprint())
	}
	sql := rowsSQL(2000)
	for _, want := range []string{"generate_series(1, 2000)", "INSERT INTO consumers", "INSERT INTO plugins", "INSERT INTO keyauth_credentials", `"redis_host": null`, "BEGIN;", "COMMIT;", "ANALYZE plugins;"} {
		if !strings.Contains(sql, want) {
			t.Errorf("rowsSQL(2000) lacks %q:\n%s", want, sql)
		}
	}
	if strings.Contains(sql, "run_on") {
		t.Error("rowsSQL writes run_on, which 3.x databases no longer have")
	}
}

// The baseline gets the lab's key, known_hosts, user, database and the
// target's package, then the Kong nodes with the migration node first.
func TestBaselineArgs(t *testing.T) {
	o := testOptions(t, Options{Nodes: 3, User: "kongops", PackageFormat: "rpm"})
	l := &Lab{st: &State{Options: o, To: o.To, Dir: o.Dir, DBPort: DBPort, Hosts: plan(o)}}
	got := strings.Join(l.BaselineArgs(), " ")
	want := fmt.Sprintf("-i %[1]s/id_ed25519 -k %[1]s/known_hosts -u kongops -d %[2]s -P 5432 -n kong -p /srv/packages/kong_3.4.2_amd64.rpm %[3]s %[4]s %[5]s",
		o.Dir, l.DBHost().Address, l.KongHosts()[0].Address, l.KongHosts()[1].Address, l.KongHosts()[2].Address)
	if got != want {
		t.Errorf("BaselineArgs:\n got %s\nwant %s", got, want)
	}
	if l.KongHosts()[0].Name != "kong-1" {
		t.Errorf("first Kong host %s, want kong-1 (the inventory's migration host)", l.KongHosts()[0].Name)
	}
}
