package labenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/lab/provision"
)

// Lab is a lab that is up.
type Lab struct {
	mu  sync.Mutex // guards st writes
	st  *State
	log io.Writer
}

// Up brings lab o.ID up as o describes and returns it once every host answers
// SSH and Kong is healthy on every Kong host. A lab that is already up in
// o.Dir with the same options is reused (its inventory is rewritten for o.To);
// any other lab with the same ID, or the remains of one, is torn down first
// (labs with other IDs are left alone). On failure Up leaves the half-built
// lab in place for inspection; Down (or the next Up) removes it.
func Up(ctx context.Context, o Options) (*Lab, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if st, err := readState(o.Dir); err == nil && st.Options.ID != o.ID {
		return nil, fmt.Errorf("lab %d up in %s: the dir holds lab %d; bring it down first (kongctl-lab down --id %d --dir %s)",
			o.ID, o.Dir, st.Options.ID, st.Options.ID, o.Dir)
	}
	if st, err := readState(o.Dir); err == nil && st.Phase == phaseReady && st.Fingerprint == o.fingerprint() {
		l := &Lab{st: st, log: o.Log}
		err := l.check(ctx)
		if err == nil {
			fmt.Fprintf(o.Log, "lab: reusing the lab in %s (%s)\n", o.Dir, st.Fingerprint)
			l.st.To = o.To
			if err := l.writeOutputs(); err != nil {
				return nil, err
			}
			return l, writeState(l.st)
		}
		fmt.Fprintf(o.Log, "lab: the lab in %s is broken (%v); rebuilding it\n", o.Dir, err)
	}
	if err := down(ctx, o.Dir, o.ID, o.Log); err != nil {
		return nil, fmt.Errorf("tear down the previous lab: %w", err)
	}
	pkg := filepath.Join(o.PackagesDir, PackageFileOf(o.Edition, o.From, o.PackageFormat))
	if _, err := os.Stat(pkg); err != nil {
		return nil, fmt.Errorf("package for %s %s: %w (run `make packages`)", o.Edition, o.From, err)
	}
	if o.PackageFormat != "deb" {
		for _, tool := range []string{"rpm", o.PackageFormat} {
			if _, err := exec.LookPath(tool); err != nil {
				return nil, fmt.Errorf("package format %s: %s is missing on this machine (apt-get install %s): %w", o.PackageFormat, tool, tool, err)
			}
		}
	}
	start := time.Now()
	l := &Lab{log: o.Log, st: &State{
		Format: stateFormat, Phase: phaseBuilding, Fingerprint: o.fingerprint(), Options: o, To: o.To,
		Dir: o.Dir, DBData: filepath.Join(o.Dir, "db", "data"), DBPort: DBPort, StartedAt: start,
		RunNetns: isMountPoint("/run/netns"),
	}}
	l.st.Hosts = plan(o)
	if err := l.sharePackages(); err != nil {
		return nil, err
	}
	if o.Repository {
		if err := writeAptIndex(ctx, l.NodePackagesDir()); err != nil {
			return nil, err
		}
	}
	if err := l.build(ctx); err != nil {
		return l, err
	}
	l.st.Phase = phaseReady
	l.st.ReadyAt = time.Now()
	l.st.UpSeconds = time.Since(start).Seconds()
	if err := l.saveState(); err != nil {
		return l, err
	}
	fmt.Fprintf(o.Log, "lab: up in %.1fs: %d hosts, inventory %s\n", l.st.UpSeconds, len(l.st.Hosts), l.InventoryPath())
	return l, nil
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "lab: "+format+"\n", args...)
}

func (l *Lab) saveState() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeState(l.st)
}

// build does the work of Up on a clean machine.
func (l *Lab) build(ctx context.Context) error {
	o := l.st.Options
	t0 := time.Now()
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, "hosts"), filepath.Join(o.Dir, "provision")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create lab dir: %w", err)
		}
	}
	if err := os.Chmod(o.Dir, 0o755); err != nil {
		return fmt.Errorf("create lab dir: %w", err)
	}
	// Written before anything is created, so a crash leaves a trail for Down.
	if err := l.saveState(); err != nil {
		return err
	}
	if err := l.writeScripts(); err != nil {
		return err
	}
	pub, err := writeSSHKey(l.KeyPath(), "kongctl-lab")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "authorized_keys"), []byte(pub+" kongctl-lab\n"), 0o644); err != nil {
		return fmt.Errorf("write authorized_keys: %w", err)
	}
	if _, err := ensurePassword(o.Dir); err != nil {
		return err
	}
	if o.EnvConf {
		if _, err := ensureSecretFile(filepath.Join(o.Dir, DecoyPasswordFile)); err != nil {
			return err
		}
	}
	if o.DB2 {
		if _, err := ensureSecretFile(filepath.Join(o.Dir, DB2PasswordFile)); err != nil {
			return err
		}
	}
	if o.RBAC {
		if _, err := ensureSecretFile(filepath.Join(o.Dir, AdminTokenFile)); err != nil {
			return err
		}
	}
	if o.Keyring {
		if err := writeKeyringPair(o.Dir); err != nil {
			return err
		}
	}
	if o.Hybrid {
		if err := writeClusterCert(filepath.Join(o.Dir, "cluster.crt"), filepath.Join(o.Dir, "cluster.key")); err != nil {
			return err
		}
	}
	n := NetworkOf(o.ID)
	if err := setupBridge(ctx, n); err != nil {
		return err
	}
	if o.Bastion {
		// Packets for the inner network must never leave through the
		// machine's default route.
		if err := ip(ctx, "route", "add", "unreachable", n.InnerNet); err != nil {
			return fmt.Errorf("add unreachable route for the inner network %s: %w", n.InnerNet, err)
		}
		l.st.Routes = append(l.st.Routes, "unreachable "+n.InnerNet)
	}
	var hostsFile strings.Builder
	for _, h := range l.st.Hosts {
		fmt.Fprintf(&hostsFile, "%s\t%s\n", h.Address, h.Name)
	}
	// The bastion first: the others' links hang off its inner bridge.
	first, rest := l.st.Hosts[:0], l.st.Hosts
	if o.Bastion {
		first, rest = l.st.Hosts[:1], l.st.Hosts[1:]
	}
	hostUp := func(ctx context.Context, h *Host) error {
		if err := writeSSHDConfig(h, o.Dir); err != nil {
			return err
		}
		if err := setupNetwork(ctx, h, n); err != nil {
			return err
		}
		if err := startHolder(ctx, h, o, hostsFile.String()); err != nil {
			return err
		}
		if o.User != "root" {
			if _, err := execIn(ctx, h, nil, nil, l.script("ssh-user.sh")+" "+o.User); err != nil {
				return fmt.Errorf("host %s: create user %s: %w", h.Name, o.User, err)
			}
		}
		return startSSHD(ctx, h)
	}
	for _, group := range [][]*Host{first, rest} {
		if err := forEach(ctx, o.Concurrency, group, hostUp); err != nil {
			l.saveState()
			return err
		}
		if err := l.saveState(); err != nil {
			return err
		}
	}
	if err := l.writeOutputs(); err != nil {
		return err
	}
	l.logf("%d hosts up with sshd in %.1fs", len(l.st.Hosts), time.Since(t0).Seconds())

	// The database and the packages at the same time.
	t1 := time.Now()
	dbErr := make(chan error, 1)
	go func() { dbErr <- l.provisionDB(ctx) }()
	kongs := l.kongAll()
	instErr := forEach(ctx, o.Concurrency, kongs, l.installKong)
	if err := errors.Join(<-dbErr, instErr); err != nil {
		return err
	}
	l.logf("database ready, %s %s installed on %d hosts in %.1fs", o.Edition, o.From, len(kongs), time.Since(t1).Seconds())

	t2 := time.Now()
	if err := l.bootstrap(ctx); err != nil {
		return err
	}
	// kong-1 first and the entities through it, so the others load them as
	// they start; then wait until every proxy routes the smoke path.
	start := func(ctx context.Context, h *Host) error { return l.StartKong(ctx, h.Name) }
	if err := start(ctx, l.KongHosts()[0]); err != nil {
		return err
	}
	if !o.NoSeed {
		if err := l.seed(ctx); err != nil {
			return err
		}
	}
	if err := l.fillRows(ctx); err != nil {
		return err
	}
	if err := forEach(ctx, o.Concurrency, kongs[1:], start); err != nil {
		return err
	}
	if !o.NoSeed {
		proxies := l.KongHosts() // control planes do not proxy
		if o.Hybrid {
			proxies = l.DataPlanes()
		}
		if err := forEach(ctx, o.Concurrency, proxies, l.waitRouted); err != nil {
			return err
		}
	}
	l.logf("database bootstrapped, Kong started on %d hosts in %.1fs", len(kongs), time.Since(t2).Seconds())
	if o.LB {
		t3 := time.Now()
		if err := l.startLB(ctx); err != nil {
			return err
		}
		l.logf("haproxy up on %s in front of %d proxies in %.1fs", LBHostName, len(l.lbServers()), time.Since(t3).Seconds())
	}
	return nil
}

// writeScripts copies lab/provision/*.sh into the lab dir (the hosts run them
// from there).
func (l *Lab) writeScripts() error {
	return fs.WalkDir(provision.Scripts, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := provision.Scripts.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(l.st.Dir, "provision", path), b, 0o755); err != nil {
			return fmt.Errorf("write provisioning script: %w", err)
		}
		return nil
	})
}

// writeOutputs writes known_hosts, ssh_config and hosts.hcl.
func (l *Lab) writeOutputs() error {
	var kh strings.Builder
	for _, h := range l.st.Hosts {
		fmt.Fprintf(&kh, "%s %s\n", h.Address, h.HostKey)
	}
	if err := os.WriteFile(l.KnownHostsPath(), []byte(kh.String()), 0o644); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	if err := os.WriteFile(l.SSHConfigPath(), []byte(renderSSHConfig(l.st)), 0o644); err != nil {
		return fmt.Errorf("write ssh_config: %w", err)
	}
	if err := os.WriteFile(l.InventoryPath(), []byte(renderInventory(l.st)), 0o644); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}

// Attach returns the lab that is up in dir ("" = the default dir of
// DefaultID(): <repo>/build/lab, or build/lab<k> with KONGCTL_LAB_ID=k).
func Attach(dir string) (*Lab, error) {
	if dir == "" {
		id, err := DefaultID()
		if err != nil {
			return nil, fmt.Errorf("attach lab: %w", err)
		}
		if dir, err = DefaultDir(id); err != nil {
			return nil, fmt.Errorf("attach lab: %w", err)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("attach lab: %w", err)
	}
	st, err := readState(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("attach lab: no lab is up in %s", dir)
		}
		return nil, fmt.Errorf("attach lab: %w", err)
	}
	if st.Phase != phaseReady {
		return nil, fmt.Errorf("attach lab: the lab in %s is %s, not ready", dir, st.Phase)
	}
	return &Lab{st: st, log: os.Stderr}, nil
}

// AttachID returns lab id that is up in dir ("" = DefaultDir(id)); it fails
// when the dir holds a lab with another ID.
func AttachID(id int, dir string) (*Lab, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("attach lab: %w", err)
	}
	if dir == "" {
		var err error
		if dir, err = DefaultDir(id); err != nil {
			return nil, fmt.Errorf("attach lab: %w", err)
		}
	}
	l, err := Attach(dir)
	if err != nil {
		return nil, err
	}
	if got := l.ID(); got != id {
		return nil, fmt.Errorf("attach lab %d: %s holds lab %d", id, l.Dir(), got)
	}
	return l, nil
}

// check verifies the lab is as Up left it: every host's namespaces, sshd and
// link are up, PostgreSQL runs, Kong is healthy on every Kong host (a fault
// left behind makes Up rebuild the lab).
func (l *Lab) check(ctx context.Context) error {
	var errs []error
	for _, h := range l.st.Hosts {
		switch {
		case !aliveIn(h.HolderPID, h.MntNS):
			errs = append(errs, fmt.Errorf("host %s: namespaces are gone", h.Name))
		case !sshdRunning(h):
			errs = append(errs, fmt.Errorf("host %s: sshd is not running", h.Name))
		case fileInode("/run/netns/"+h.Netns) != h.NetNS:
			errs = append(errs, fmt.Errorf("host %s: netns is gone", h.Name))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, h := range l.st.Hosts {
		out, err := run(ctx, nil, nil, "ip", append(linkArgs(h), "-o", "link", "show", "dev", h.Veth)...)
		if err != nil || !strings.Contains(out, ",UP") {
			errs = append(errs, fmt.Errorf("host %s: link %s is down", h.Name, h.Veth))
		}
	}
	if !l.DBRunning(ctx) {
		errs = append(errs, errors.New("host db: PostgreSQL is not running"))
	}
	err := forEach(ctx, l.st.Options.Concurrency, l.kongAll(), func(ctx context.Context, h *Host) error {
		if _, err := execIn(ctx, h, nil, nil, "kong health"); err != nil {
			return fmt.Errorf("host %s: kong is not healthy", h.Name)
		}
		return nil
	})
	if l.st.Options.LB {
		if _, lberr := l.LBStatus(ctx); lberr != nil {
			errs = append(errs, fmt.Errorf("host %s: haproxy does not answer: %w", LBHostName, lberr))
		}
	}
	return errors.Join(append(errs, err)...)
}

// Down tears the lab down: every process, namespace, link and file.
func (l *Lab) Down() error {
	return DownID(context.Background(), l.ID(), l.st.Dir, l.log)
}

// Down tears down the lab in dir ("" = the default dir of DefaultID()), and
// anything else with that lab's names, also after a crash. The lab's ID is
// the one in dir's state.json; without one, the ID of a default dir name
// (build/lab = 0, build/lab<k> = k), else DefaultID(). Other labs are left
// alone.
func Down(ctx context.Context, dir string, log io.Writer) error {
	id, err := DefaultID()
	if err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	if dir == "" {
		return DownID(ctx, id, "", log)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	if st, err := readState(dir); err == nil {
		id = st.Options.ID
	} else if k, ok := idFromDirName(dir); ok {
		id = k
	}
	return DownID(ctx, id, dir, log)
}

// DownID tears down lab id: the lab in dir ("" = DefaultDir(id)) and every
// namespace, link and route with lab id's names, also after a crash that left
// no state.json. It refuses a dir whose state.json names another lab.
func DownID(ctx context.Context, id int, dir string, log io.Writer) error {
	if log == nil {
		log = os.Stderr
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	if dir == "" {
		var err error
		if dir, err = DefaultDir(id); err != nil {
			return fmt.Errorf("lab down: %w", err)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if st, err := readState(dir); err == nil && st.Options.ID != id {
		return fmt.Errorf("lab %d down: %s holds lab %d (kongctl-lab down --id %d --dir %s)", id, dir, st.Options.ID, st.Options.ID, dir)
	}
	return down(ctx, dir, id, log)
}

// lockDir takes an exclusive lock beside the lab dir for Up and Down.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("lock lab: %w", err)
	}
	path := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock lab: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock lab: %w", err)
	}
	return func() { f.Close() }, nil
}

// Accessors.

// Dir is the lab's directory (build/lab, build/lab<k>).
func (l *Lab) Dir() string { return l.st.Dir }

// ID is the lab's ID (0..MaxID).
func (l *Lab) ID() int { return l.st.Options.ID }

// Network is the lab's names and addresses.
func (l *Lab) Network() Network { return NetworkOf(l.st.Options.ID) }

// Options are the options the lab was brought up with (defaults filled in).
func (l *Lab) Options() Options { o := l.st.Options; o.To = l.st.To; o.Dir = l.st.Dir; return o }

// State returns a copy of the lab's recorded state.
func (l *Lab) State() State { return *l.st }

// InventoryPath is build/lab/hosts.hcl.
func (l *Lab) InventoryPath() string { return filepath.Join(l.st.Dir, "hosts.hcl") }

// KeyPath is the SSH private key that logs in to every host.
func (l *Lab) KeyPath() string { return filepath.Join(l.st.Dir, "id_ed25519") }

// KnownHostsPath holds every host's key.
func (l *Lab) KnownHostsPath() string { return filepath.Join(l.st.Dir, "known_hosts") }

// SSHConfigPath is an ssh_config naming every host (ssh -F it HOST).
func (l *Lab) SSHConfigPath() string { return filepath.Join(l.st.Dir, "ssh_config") }

// AdminTokenFile is the RBAC lab's super-admin token (Kong-Admin-Token),
// beside hosts.hcl, mode 0600: the KONG_PASSWORD of the bootstrap.
const AdminTokenFile = "admin-token"

// AdminToken is the RBAC lab's super-admin token ("" without RBAC).
func (l *Lab) AdminToken() (string, error) {
	if !l.st.Options.RBAC {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(l.st.Dir, AdminTokenFile))
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// PasswordFile is build/lab/pg_password (0600).
func (l *Lab) PasswordFile() string { return filepath.Join(l.st.Dir, "pg_password") }

// DBPassword reads the kong role's password.
func (l *Lab) DBPassword() (string, error) {
	b, err := os.ReadFile(l.PasswordFile())
	if err != nil {
		return "", fmt.Errorf("read db password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DSN is the kong database's connection string (with the password). Behind a
// bastion the machine cannot reach it directly.
func (l *Lab) DSN() (string, error) {
	pw, err := l.DBPassword()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", DBUser, pw, l.DBHost().Address, l.st.DBPort, DBName), nil
}

// DecoyDSN is the connection string of an ENVCONF lab's decoy database
// (the one kong.conf names), for tests that prove it stays untouched.
func (l *Lab) DecoyDSN() (string, error) {
	if !l.st.Options.EnvConf {
		return "", errors.New("lab: no decoy database (not an ENVCONF=1 lab)")
	}
	pw, err := l.decoyPassword()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", DecoyDB, pw, l.DBHost().Address, l.st.DBPort, DecoyDB), nil
}

// Hosts are all the lab's hosts, in inventory order.
func (l *Lab) Hosts() []*Host { return l.st.Hosts }

// Host returns a host by name.
func (l *Lab) Host(name string) (*Host, bool) {
	for _, h := range l.st.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return nil, false
}

func (l *Lab) host(name string) (*Host, error) {
	h, ok := l.Host(name)
	if !ok {
		return nil, fmt.Errorf("lab: no host %q", name)
	}
	return h, nil
}

// Address is the address SSH reaches a host at.
func (l *Lab) Address(name string) string {
	if h, ok := l.Host(name); ok {
		return h.Address
	}
	return ""
}

// DBHost is the database host "db".
func (l *Lab) DBHost() *Host {
	h, _ := l.Host("db")
	return h
}

// KongHosts are the Kong hosts kong-1..N (control planes in hybrid mode).
func (l *Lab) KongHosts() []*Host { return l.ofKind(KindKong) }

// DataPlanes are the hybrid data planes dp-1..N.
func (l *Lab) DataPlanes() []*Host { return l.ofKind(KindDP) }

// Spares are the hosts without Kong.
func (l *Lab) Spares() []*Host { return l.ofKind(KindSpare) }

// kongAll is every host Kong runs on.
func (l *Lab) kongAll() []*Host { return append(l.KongHosts(), l.DataPlanes()...) }

func (l *Lab) ofKind(kind string) []*Host {
	var hs []*Host
	for _, h := range l.st.Hosts {
		if h.Kind == kind {
			hs = append(hs, h)
		}
	}
	return hs
}

// Exec runs a shell command inside a host's namespaces as root (no SSH) and
// returns its combined output.
func (l *Lab) Exec(ctx context.Context, name, command string) (string, error) {
	h, err := l.host(name)
	if err != nil {
		return "", err
	}
	out, err := execIn(ctx, h, nil, nil, command)
	if err != nil {
		return out, fmt.Errorf("host %s: exec: %w", name, err)
	}
	return out, nil
}

// SSH runs a command on a host with the real ssh client, as the lab's SSH
// user, with strict host key checking (through the bastion when there is
// one), and returns its combined output.
func (l *Lab) SSH(ctx context.Context, name, command string) (string, error) {
	if _, err := l.host(name); err != nil {
		return "", err
	}
	return run(ctx, nil, nil, "ssh", append(l.SSHArgs(name), command)...)
}

// SSHArgs are the ssh(1) arguments that reach a host (append the command).
func (l *Lab) SSHArgs(name string) []string {
	return []string{"-F", l.SSHConfigPath(), "-o", "ConnectTimeout=5", name, "--"}
}

func isMountPoint(path string) bool {
	out, err := exec.Command("findmnt", "-n", "-o", "TARGET", "--mountpoint", path).Output()
	return err == nil && strings.TrimSpace(string(out)) == path
}

// NodePackagesDir is the packages dir as the lab's hosts see it: the
// options' PackagesDir, or a copy inside the lab dir when PackagesDir sits
// under a directory the hosts overlay or replace (a checkout under /tmp).
func (l *Lab) NodePackagesDir() string { return nodePackagesDir(l.st) }

func nodePackagesDir(st *State) string {
	if hiddenTop(st.Options.PackagesDir) == "" {
		return st.Options.PackagesDir
	}
	return filepath.Join(st.Dir, "packages")
}

// writeAptIndex makes dir a flat apt repository ("deb file:<dir> ./"):
// a Packages index of every .deb in it, all versions.
func writeAptIndex(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "dpkg-scanpackages", "--multiversion", ".")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("apt repository index in %s: dpkg-scanpackages (apt-get install dpkg-dev): %w: %s", dir, err, stderr.String())
	}
	tmp := filepath.Join(dir, ".Packages.tmp")
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return fmt.Errorf("apt repository index: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "Packages"))
}

// AptSource is the apt source line of a Repository lab's packages.
func (l *Lab) AptSource() string {
	return "deb [trusted=yes] file://" + l.NodePackagesDir() + " ./"
}

// sharePackages puts the packages where the hosts can read them (see
// NodePackagesDir): hard links when possible, copies otherwise.
func (l *Lab) sharePackages() error {
	dst := l.NodePackagesDir()
	src := l.st.Options.PackagesDir
	if dst == src {
		return nil
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("share packages: %w", err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("share packages: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !(strings.HasSuffix(e.Name(), ".deb") || strings.HasSuffix(e.Name(), ".rpm")) {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		_ = os.Remove(to)
		if os.Link(from, to) == nil {
			continue
		}
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(to, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("share packages: %w", err)
		}
	}
	return nil
}
