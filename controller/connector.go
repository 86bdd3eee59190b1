package controller

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/sshremote"
	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/inventory"
)

// NewConnector returns the production Connector for inv: one SSH
// connection per host (sshremote, with the inventory's jump chains, host
// keys and become), the agent delivered to each and called through
// agentclient. The database and the fleet lock are reached through the
// agent on the database tools host.
func NewConnector(inv *inventory.Inventory) (Connector, error) {
	if inv.Database == nil || inv.Upgrade == nil {
		return nil, errors.New("inventory has no database or upgrade block")
	}
	th := inv.ToolsHost()
	if th == nil {
		return nil, errors.New("inventory has no database tools host")
	}
	return &sshConnector{inv: inv, tools: th.Name, hosts: map[string]*agentHost{}, dial: sshremote.Dial}, nil
}

type sshConnector struct {
	inv   *inventory.Inventory
	tools string
	dial  func(context.Context, *sshremote.Config) (*sshremote.Client, error)

	mu    sync.Mutex
	hosts map[string]*agentHost
}

// agentHost is one host's SSH connection and agent client. The connection
// may be replaced (reconnect) while other goroutines use the host (the
// fleet-lock heartbeat on the tools host while a detached migrations step
// on the same host re-attaches): ssh and ac are read through conn() and
// client() under mu.
type agentHost struct {
	name     string
	mu       sync.RWMutex
	ssh      *sshremote.Client
	ac       *agentclient.Client
	time     agentTiming
	delivery *agentclient.Delivery
	// redial opens a new connection (and agent client) to the host, for
	// re-attaching to a detached step after the connection was lost.
	redial func(ctx context.Context) (*sshremote.Client, *agentclient.Client, error)
}

// client is the host's current agent client.
func (ah *agentHost) client() *agentclient.Client {
	ah.mu.RLock()
	defer ah.mu.RUnlock()
	return ah.ac
}

// conn is the host's current SSH connection.
func (ah *agentHost) conn() *sshremote.Client {
	ah.mu.RLock()
	defer ah.mu.RUnlock()
	return ah.ssh
}

// reconnect replaces a lost connection (a detached step's wait). Other
// users of the host keep the client they hold for their call in flight
// (it fails with the lost connection) and pick up the new one on their
// next call.
func (ah *agentHost) reconnect(ctx context.Context) error {
	cl, ac, err := ah.redial(ctx)
	if err != nil {
		return err
	}
	ah.mu.Lock()
	old := ah.ssh
	ah.ssh, ah.ac = cl, ac
	ah.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// agentTiming sums, per operation, the durations the agent itself
// reported (its own clock, without SSH round trips).
type agentTiming struct {
	mu  sync.Mutex
	sum map[string]time.Duration
}

func (t *agentTiming) add(op string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sum == nil {
		t.sum = map[string]time.Duration{}
	}
	t.sum[op] += d
}

func (t *agentTiming) snapshot() map[string]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.sum)
}

// SSHConfig builds the sshremote.Config of host h: resolved SSH settings,
// pinned host key, bastion chain (outermost first) and become (its
// password resolved from its reference, fed on stdin by sshremote).
func SSHConfig(inv *inventory.Inventory, h *inventory.Host) (*sshremote.Config, error) {
	return sshConfig(inv, h, true)
}

func sshConfig(inv *inventory.Inventory, h *inventory.Host, withJump bool) (*sshremote.Config, error) {
	s := h.SSH
	cfg := &sshremote.Config{
		Name: h.Name, Address: h.Address, Port: h.Port, User: s.User,
		KeyFiles: s.PrivateKeys, Passphrase: sshremote.DefaultPassphrase(), UseAgent: s.UseAgent,
		KnownHostsFiles: s.KnownHosts, HostKeyPolicy: sshremote.HostKeyPolicy(s.HostKeyPolicy),
		SSHConfigFile: s.SSHConfig, ConnectTimeout: s.ConnectTimeout, Keepalive: s.Keepalive, ConnectRetries: s.ConnectRetries,
	}
	if h.HostKey != "" {
		cfg.PinnedKeys = []string{h.HostKey}
	}
	if s.Become != nil && s.Become.Method == "sudo" {
		b := &sshremote.Become{Method: "sudo", User: s.Become.User}
		if !s.Become.Password.IsZero() {
			pw, err := s.Become.Password.Resolve()
			if err != nil {
				return nil, fmt.Errorf("host %s: become password: %w", h.Name, err)
			}
			b.Password = pw
		}
		cfg.Become = b
	}
	if withJump {
		for _, name := range s.Jump {
			jh := inv.Host(name)
			if jh == nil {
				return nil, fmt.Errorf("host %s: jump host %q is not in the inventory", h.Name, name)
			}
			jc, err := sshConfig(inv, jh, false)
			if err != nil {
				return nil, err
			}
			cfg.Jump = append(cfg.Jump, jc)
		}
	}
	return cfg, nil
}

func (c *sshConnector) host(ctx context.Context, name string) (*agentHost, error) {
	c.mu.Lock()
	if ah, ok := c.hosts[name]; ok {
		c.mu.Unlock()
		return ah, nil
	}
	c.mu.Unlock()
	h := c.inv.Host(name)
	if h == nil {
		return nil, fmt.Errorf("host %s is not in the inventory", name)
	}
	cfg, err := SSHConfig(c.inv, h)
	if err != nil {
		return nil, err
	}
	cl, err := c.dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ah := &agentHost{name: name, ssh: cl}
	newClient := func(cl *sshremote.Client) *agentclient.Client {
		return agentclient.New(cl, agentclient.Options{Become: cfg.Become != nil,
			Observe: func(rep *agentproto.Reply) { ah.time.add(string(rep.Op), rep.Duration) }})
	}
	ah.ac = newClient(cl)
	ah.redial = func(ctx context.Context) (*sshremote.Client, *agentclient.Client, error) {
		cl, err := c.dial(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		ac := newClient(cl)
		if _, err := ac.Deliver(ctx, nil); err != nil {
			cl.Close()
			return nil, nil, err
		}
		return cl, ac, nil
	}
	d, err := ah.ac.Deliver(ctx, nil)
	if err != nil {
		cl.Close()
		return nil, err
	}
	ah.delivery = d
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.hosts[name]; ok {
		cl.Close()
		return prev, nil
	}
	c.hosts[name] = ah
	return ah, nil
}

// AgentDelivery sums what delivering the agent cost this run: the hosts
// reached and the bytes uploaded (0 when every host already had this
// agent).
func (c *sshConnector) AgentDelivery() AgentDelivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d AgentDelivery
	for _, ah := range c.hosts {
		if ah.delivery == nil {
			continue
		}
		d.Hosts++
		d.UploadedBytes += ah.delivery.Uploaded
		if ah.delivery.Uploaded > 0 {
			d.UploadedTo++
		}
	}
	return d
}

func (c *sshConnector) Node(ctx context.Context, name string) (Node, error) {
	ah, err := c.host(ctx, name)
	if err != nil {
		return nil, err
	}
	u := c.inv.Upgrade
	mgr := agentproto.ManagerKongCLI
	if u.ServiceManager == "systemd" {
		mgr = agentproto.ManagerSystemd
	}
	// A reference that does not resolve is preflight's finding
	// (checkSecrets); the node then calls without a token.
	tok, _ := c.inv.AdminToken()
	return &agentNode{h: ah, conf: u.KongConf, prefix: u.Prefix, manager: mgr, envFile: u.ServiceEnvFile, staged: map[string]string{}, token: string(tok)}, nil
}

func (c *sshConnector) dbConn() (agentproto.DBConn, error) {
	db := c.inv.Database
	conn := agentproto.DBConn{Host: db.Host, Port: db.Port, User: db.User, Database: db.Name, Schema: db.Schema, SSLMode: db.TLSMode}
	pw, err := db.Password()
	if err != nil {
		return conn, fmt.Errorf("resolve the database password reference: %w", err)
	}
	conn.Password = string(pw)
	if db.CAFile != "" {
		ca, err := os.ReadFile(db.CAFile)
		if err != nil {
			return conn, fmt.Errorf("read the database CA (database.ca_file): %w", err)
		}
		conn.CACert = string(ca)
	}
	return conn, nil
}

func (c *sshConnector) Database(ctx context.Context) (Database, error) {
	ah, err := c.host(ctx, c.tools)
	if err != nil {
		return nil, err
	}
	conn, err := c.dbConn()
	if err != nil {
		return nil, err
	}
	return &agentDB{h: ah, conn: conn}, nil
}

func (c *sshConnector) Locker(ctx context.Context) (Locker, error) {
	ah, err := c.host(ctx, c.tools)
	if err != nil {
		return nil, err
	}
	conn, err := c.dbConn()
	if err != nil {
		return nil, err
	}
	return &agentLocker{h: ah, conn: conn, ttl: 2 * time.Minute}, nil
}

// Reconnect replaces the lost connection to host (and its agent client)
// in place; a host never connected is dialled by its next use.
func (c *sshConnector) Reconnect(ctx context.Context, host string) error {
	c.mu.Lock()
	ah := c.hosts[host]
	c.mu.Unlock()
	if ah == nil {
		return nil
	}
	return ah.reconnect(ctx)
}

func (c *sshConnector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, ah := range c.hosts {
		errs = append(errs, ah.conn().Close())
	}
	c.hosts = map[string]*agentHost{}
	return errors.Join(errs...)
}

// ---- Node over the agent ----

type agentNode struct {
	h       *agentHost
	conf    string
	prefix  string
	manager string
	// envFile is the service's environment file (cli-managed nodes).
	envFile string
	// token is the Admin API token (Enterprise RBAC), "" for none: it
	// travels to the agent in request bodies only.
	token string

	mu     sync.Mutex
	staged map[string]string // package version -> staged path
	facts  *agentproto.Facts
}

var _ Node = (*agentNode)(nil)

// AgentTimes are the agent's own durations, summed per operation since the
// connection was made ("migrations.up" and "migrations.finish" for the
// detached migrations).
func (n *agentNode) AgentTimes() map[string]time.Duration { return n.h.time.snapshot() }

func (n *agentNode) Facts(ctx context.Context) (Facts, error) {
	f, err := n.h.client().Facts(ctx, agentproto.FactsParams{KongConf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile})
	if err != nil {
		return Facts{}, err
	}
	n.mu.Lock()
	n.facts = f
	n.mu.Unlock()
	out := Facts{
		Version: f.Kong.Version, Edition: f.Kong.Edition, Running: f.Service.Running,
		Arch: goarch(f.Arch), PackageFormat: pkgFormat(f.PackageManager), Role: f.Conf.Role, Service: f.Service.Unit,
		Conf: map[string]string{"database": f.Conf.DB.Database, "role": f.Conf.Role, "status_listen": f.Conf.StatusListen, "admin_listen": f.Conf.AdminListen, "plugins": f.Conf.Plugins,
			"enforce_rbac": f.Conf.EnforceRBAC, "konnect_mode": f.Conf.KonnectMode, "cluster_control_plane": f.Conf.ClusterControlPlane},
	}
	out.ConfFile, out.ConfEntries = f.Conf.Path, confEntries(f.Conf.Entries)
	out.Keyring = KeyringConf(f.Conf.Keyring)
	out.AdminAPI = n.adminAPIStatus(ctx, f)
	out.DB, out.EnvSource, out.EnvError = dbSettings(f.Conf), f.Conf.EnvSource, f.Conf.EnvError
	for _, p := range strings.Split(f.Conf.Plugins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out.Plugins = append(out.Plugins, p)
		}
	}
	out.DiskFreeBytes = minDiskFree(f.Disk)
	return out, nil
}

// adminAPIStatus is the HTTP status of a running node's Admin API GET /
// with the inventory's token (0: not read: Kong stopped, the Admin API off
// or not answering). Preflight refuses a 401 or 403 (kong-reference 9.1).
func (n *agentNode) adminAPIStatus(ctx context.Context, f *agentproto.Facts) int {
	if !f.Service.Running || firstListen(f.Conf.AdminListen) == "off" {
		return 0
	}
	r, err := n.h.client().HTTPGet(ctx, agentproto.HTTPGetParams{URL: listenURL(f.Conf.AdminListen, "127.0.0.1:8001") + "/",
		AdminToken: n.token, TokenHeader: f.Conf.RBACAuthHeader, Timeout: 10 * time.Second, Discard: true})
	if err != nil {
		return 0
	}
	return r.Status
}

// dbSettings are a node's effective database settings, in a fixed order,
// with the password's value replaced by whether it is set.
func dbSettings(c agentproto.KongConf) []ConfSetting {
	if len(c.DBSources) == 0 {
		return nil
	}
	pw := "not set"
	if c.HasPGPassword {
		pw = "set"
	}
	vals := []struct{ k, v string }{{"database", c.DB.Database}, {"pg_host", c.DB.Host}, {"pg_port", strconv.Itoa(c.DB.Port)},
		{"pg_database", c.DB.Name}, {"pg_user", c.DB.User}, {"pg_schema", c.DB.Schema}, {"pg_password", pw}}
	out := make([]ConfSetting, 0, len(vals))
	for _, kv := range vals {
		out = append(out, ConfSetting{Key: kv.k, Value: kv.v, Source: c.DBSources[kv.k]})
	}
	return out
}

// minDiskFree is the least free space of the file systems a node reported,
// or -1 when it reported none: a full disk (0 bytes free) is a value, not
// "unknown".
func minDiskFree(ds []agentproto.DiskFree) int64 {
	free := int64(-1)
	for _, d := range ds {
		if d.Err == "" && (free < 0 || int64(d.FreeBytes) < free) {
			free = int64(d.FreeBytes)
		}
	}
	return free
}

func goarch(uname string) string {
	switch uname {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return uname
}

func pkgFormat(mgr string) string {
	switch mgr {
	case "dnf", "yum", "rpm":
		return "rpm"
	}
	return "deb"
}

func (n *agentNode) svc(timeout time.Duration) agentproto.ServiceParams {
	return agentproto.ServiceParams{Manager: n.manager, Conf: n.conf, Prefix: n.prefix, EnvFile: n.envFile, GraceTimeout: timeout, StartTimeout: timeout, AdminToken: n.token}
}

func (n *agentNode) Stop(ctx context.Context, timeout time.Duration) error {
	res, err := n.h.client().ServiceStop(ctx, n.svc(timeout))
	if err != nil {
		return err
	}
	if res.Running {
		return fmt.Errorf("host %s: kong still running after stop", n.h.name)
	}
	return nil
}

func (n *agentNode) Start(ctx context.Context, timeout time.Duration) (Health, error) {
	res, err := n.h.client().ServiceStart(ctx, n.svc(timeout))
	if err != nil || res.Health == nil {
		return Health{}, err
	}
	return healthOf(res.Health), nil
}

func (n *agentNode) Health(ctx context.Context) (Health, error) {
	hr, err := n.h.client().Health(ctx, agentproto.HealthParams{Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, AdminToken: n.token})
	if err != nil {
		if agentproto.CodeOf(err) == agentproto.CodeUnhealthy {
			return Health{Detail: err.Error()}, nil
		}
		return Health{}, err
	}
	return healthOf(hr), nil
}

// healthOf reads the agent's health result.
func healthOf(hr *agentproto.HealthResult) Health {
	h := Health{Running: hr.CLI, Version: hr.Version, Ready: true, DBReachable: hr.Healthy}
	if hr.Admin != nil {
		h.StatusOK = hr.Admin.Status >= 200 && hr.Admin.Status < 300
	}
	if hr.Status != nil {
		h.Ready = hr.Status.Status >= 200 && hr.Status.Status < 300
	}
	if !hr.Healthy {
		h.Detail = hr.CLIOut
	}
	return h
}

func (n *agentNode) StagePackage(ctx context.Context, p PackageRef) (StagedPackage, error) {
	var params agentproto.StageParams
	if p.Source == "file" {
		f, err := os.Open(p.LocalPath)
		if err != nil {
			return StagedPackage{}, fmt.Errorf("stage package on %s: %w", n.h.name, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return StagedPackage{}, err
		}
		// Packages are not secret; the agent moves the upload into its
		// own packages directory after checking the hash.
		tmp := "/tmp/kongctl-upload-" + p.SHA256[:12] + "-" + filepath.Base(p.LocalPath)
		if err := n.h.conn().Upload(ctx, tmp, f, st.Size(), 0o600, nil); err != nil {
			return StagedPackage{}, fmt.Errorf("upload %s to %s: %w", filepath.Base(p.LocalPath), n.h.name, err)
		}
		params = agentproto.StageParams{Source: agentproto.SourceUpload, UploadedPath: tmp, SHA256: p.SHA256, FileName: filepath.Base(p.LocalPath)}
	} else {
		params = agentproto.StageParams{Source: agentproto.SourceRepo, Package: p.Name, Version: p.Version}
	}
	res, err := n.h.client().StagePackage(ctx, params)
	if err != nil {
		return StagedPackage{}, err
	}
	n.mu.Lock()
	n.staged[p.Version] = res.Path
	n.mu.Unlock()
	return StagedPackage{Package: res.Package, Version: res.PackageVersion, DepsMet: res.DepsMet, DepsDetail: res.DepsDetail}, nil
}

func (n *agentNode) InstallPackage(ctx context.Context, p PackageRef, timeout time.Duration) error {
	n.mu.Lock()
	path := n.staged[p.Version]
	n.mu.Unlock()
	if path == "" { // a resumed run: staging is idempotent (same hash)
		if _, err := n.StagePackage(ctx, p); err != nil {
			return err
		}
		n.mu.Lock()
		path = n.staged[p.Version]
		n.mu.Unlock()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// Hold: the installed version (Y, or X on rollback) is pinned against
	// unattended upgrades (apt-mark hold, dnf versionlock); kongctl's own
	// next install releases it. The lean install (dependencies met at
	// staging) leaves the hold to HoldPackage, after the fleet serves.
	// The staged file's sha256 is checked again either way; the agent
	// answers it from the stamp staging left while the file is the one
	// it hashed (same inode, size, mtime and ctime), without reading it.
	_, err := n.h.client().InstallPackage(ctx, agentproto.InstallParams{Path: path, SHA256: p.SHA256, Package: p.Name, AllowDowngrade: true, Hold: !p.DepsMet, Lean: p.DepsMet, ExpectVersion: p.Version, Background: p.Background})
	return err
}

func (n *agentNode) HoldPackage(ctx context.Context, p PackageRef) error {
	_, err := n.h.client().HoldPackage(ctx, agentproto.HoldParams{Package: p.Name, Format: p.Format})
	return err
}

func (n *agentNode) RemovePackage(ctx context.Context, p PackageRef) error {
	cmd, err := removeCommand(p)
	if err != nil {
		return fmt.Errorf("host %s: remove package: %w", n.h.name, err)
	}
	r, err := n.h.client().Exec(ctx, agentproto.ExecParams{Command: cmd})
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("host %s: %s: exit %d: %s", n.h.name, cmd, r.ExitCode, strings.TrimSpace(r.StderrTail))
	}
	n.mu.Lock()
	n.facts = nil
	n.mu.Unlock()
	return nil
}

func (n *agentNode) Migrations(ctx context.Context, req MigrationsRequest) (SchemaState, error) {
	params := agentproto.MigrationsParams{Action: req.Command, Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, Force: req.Force, DBTimeout: req.DBTimeout, LockTimeout: req.LockTimeout}
	var res *agentproto.MigrationsResult
	var err error
	if req.Command == agentproto.MigUp || req.Command == agentproto.MigFinish {
		res, err = n.detachedMigrations(ctx, req, params)
	} else {
		res, err = n.h.client().Migrations(ctx, params)
	}
	switch agentproto.CodeOf(err) {
	case agentproto.CodeAborted:
		return SchemaState{Aborted: true, Output: err.Error()}, nil
	case agentproto.CodeDBUnreachable:
		return SchemaState{ExitCode: 1, Output: err.Error()}, nil
	}
	if err != nil {
		return SchemaState{}, err
	}
	st := SchemaState{ExitCode: res.State.ExitCode, NeedsBootstrap: res.State.NeedsBootstrap, Pending: flatten(res.State.Pending), New: flatten(res.State.New)}
	if req.Command == agentproto.MigUp || req.Command == agentproto.MigFinish {
		// The agent re-checks up/finish with list itself: its State is that
		// list, reported as After; ExitCode is the command's.
		after := st
		st.After = &after
		st.ExitCode = res.ExitCode
	}
	return st, nil
}

// reattachFor bounds how long a lost connection to a node running a
// detached step is retried before the wait fails.
const reattachFor = 3 * time.Minute

// detachedMigrations starts up/finish as a detached step (or attaches to
// it when it already exists) and waits for its reply.
func (n *agentNode) detachedMigrations(ctx context.Context, req MigrationsRequest, params agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	// Start and wait in one call; then attach again while it runs.
	stepTimeout := req.StepTimeout
	if stepTimeout == 0 {
		stepTimeout = req.DBTimeout
	}
	ar, err := n.h.client().StartAttached(ctx, req.StepID, agentproto.OpMigrations, params, stepTimeout, 20*time.Second)
	if err != nil && ar == nil {
		var opErr *agentclient.OpError
		if errors.As(err, &opErr) || ctx.Err() != nil {
			return nil, err
		}
		// The connection was lost: the step may have started; the
		// loop attaches to it (never starting it a second time).
	}
	var lost time.Time // when the connection was first found lost
	for first := true; ; first = false {
		if !first || ar == nil {
			ar, err = n.h.client().Attach(ctx, req.StepID, 20*time.Second)
		}
		if err != nil {
			// The step runs detached on the node: a lost connection loses
			// only this wait. Reconnect and attach again (never start the
			// step a second time), for as long as the step may run.
			var opErr *agentclient.OpError
			if errors.As(err, &opErr) || ctx.Err() != nil {
				return nil, err
			}
			if lost.IsZero() {
				lost = time.Now()
			}
			if time.Since(lost) > reattachFor {
				return nil, fmt.Errorf("host %s: migrations step %s: connection lost and not back within %s: %w", n.h.name, req.StepID, reattachFor, err)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Second):
			}
			if rerr := n.h.reconnect(ctx); rerr != nil {
				continue // still the lost connection: the next Attach fails and retries
			}
			lost = time.Time{}
			continue
		}
		switch ar.Status.State {
		case agentproto.StepRunning:
			continue
		case agentproto.StepDone:
			if ar.Reply == nil {
				return nil, fmt.Errorf("host %s: migrations step %s done without a reply", n.h.name, req.StepID)
			}
			n.h.time.add(string(agentproto.OpMigrations)+"."+req.Command, ar.Reply.Duration)
			if ar.Reply.Error != nil {
				return nil, ar.Reply.Error
			}
			r, err := agentproto.DecodeResult[agentproto.MigrationsResult](ar.Reply)
			if err != nil {
				return nil, err
			}
			return &r, nil
		default:
			return nil, fmt.Errorf("host %s: migrations step %s is %s (its runner died; the state is re-checked with list)", n.h.name, req.StepID, ar.Status.State)
		}
	}
}

// MigrationStep attaches to detached step stepID for up to wait and
// reports its state (StepNone when the agent does not know it).
func (n *agentNode) MigrationStep(ctx context.Context, stepID string, wait time.Duration) (string, error) {
	ar, err := n.h.client().Attach(ctx, stepID, wait)
	switch agentproto.CodeOf(err) {
	case agentproto.CodeNotFound:
		return StepNone, nil
	case agentproto.CodeStepLost:
		return StepLost, nil
	}
	if err != nil {
		return "", fmt.Errorf("host %s: state of migrations step %s: %w", n.h.name, stepID, err)
	}
	switch ar.Status.State {
	case agentproto.StepRunning:
		return StepRunning, nil
	case agentproto.StepDone:
		return StepDone, nil
	}
	return StepLost, nil
}

func flatten(ss []agentproto.SubsystemMigrations) []string {
	var out []string
	for _, s := range ss {
		for _, m := range s.Migrations {
			out = append(out, s.Subsystem+":"+m)
		}
	}
	return out
}

func (n *agentNode) Exec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	r, err := n.h.client().Exec(ctx, agentproto.ExecParams{Command: req.Command, Env: req.Env})
	if err != nil {
		return ExecResult{}, err
	}
	return ExecResult{ExitCode: r.ExitCode, Stdout: r.StdoutTail, Stderr: r.StderrTail}, nil
}

// firstListen is the first entry of a Kong *_listen setting.
func firstListen(listen string) string {
	return strings.TrimSpace(strings.Split(listen, ",")[0])
}

// listenURL turns the first entry of a Kong *_listen setting into a URL.
func listenURL(listen, def string) string {
	first := firstListen(listen)
	if first == "" || first == "off" {
		first = def
	}
	addr := strings.Fields(first)[0]
	addr = strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
	scheme := "http"
	if strings.Contains(first, " ssl") {
		scheme = "https"
	}
	return scheme + "://" + addr
}

func (n *agentNode) conf0(ctx context.Context) (*agentproto.Facts, error) {
	n.mu.Lock()
	f := n.facts
	n.mu.Unlock()
	if f != nil {
		return f, nil
	}
	if _, err := n.Facts(ctx); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.facts, nil
}

func (n *agentNode) Probe(ctx context.Context, req ProbeRequest) (ProbeResult, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return ProbeResult{}, err
	}
	r, err := n.h.client().HTTPGet(ctx, agentproto.HTTPGetParams{URL: listenURL(f.Conf.ProxyListen, "0.0.0.0:8000") + req.Path, Host: req.Host, Timeout: req.Timeout, Discard: true})
	if err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Status: r.Status, Latency: r.Latency}, nil
}

func (n *agentNode) Metrics(ctx context.Context) (Metrics, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return Metrics{}, err
	}
	body, err := n.adminGet(ctx, f, "/metrics")
	if err != nil {
		return Metrics{}, err
	}
	return parseMetrics(body), nil
}

// adminGet reads path from the node's own Admin API (the agent's http.get:
// the whole body); any status but 200 is an error.
func (n *agentNode) adminGet(ctx context.Context, f *agentproto.Facts, path string) (string, error) {
	url := listenURL(f.Conf.AdminListen, "127.0.0.1:8001") + path
	r, err := n.h.client().HTTPGet(ctx, agentproto.HTTPGetParams{URL: url, AdminToken: n.token, TokenHeader: f.Conf.RBACAuthHeader})
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("host %s: GET %s: HTTP %d", n.h.name, url, r.Status)
	}
	return r.Body, nil
}

// parseMetrics sums request, per-status and 5xx counters and the request
// latency histogram from Prometheus text (3.x and 2.8 names).
func parseMetrics(text string) Metrics {
	var m Metrics
	buckets := map[float64]float64{}
	var count float64
	hasLatency := false
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		if line[0] == '#' {
			// A declared family is exported even before its first
			// observation (an idle node has no series yet).
			if f := strings.Fields(line); len(f) >= 3 && f[1] == "TYPE" {
				switch f[2] {
				case "kong_http_requests_total", "kong_http_status":
					m.StatusCodes = true
				case "kong_request_latency_ms", "kong_latency":
					hasLatency = true
				}
			}
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err != nil {
			continue
		}
		series := line[:i]
		name, labels, _ := strings.Cut(series, "{")
		switch name {
		case "kong_nginx_requests_total":
			m.Requests += v
		case "kong_http_requests_total", "kong_http_status":
			m.StatusCodes = true
			m.Proxied += v
			if strings.HasPrefix(promLabel(labels, "code"), "5") {
				m.Errors += v
			}
		case "kong_request_latency_ms_bucket", "kong_latency_bucket":
			if name == "kong_latency_bucket" && promLabel(labels, "type") != "request" {
				continue
			}
			le := promLabel(labels, "le")
			hasLatency = true
			if le == "+Inf" {
				count += v
				continue
			}
			if b, err := strconv.ParseFloat(le, 64); err == nil {
				buckets[b] += v
			}
		}
	}
	if hasLatency {
		h := &Histogram{Count: count}
		for le, n := range buckets {
			h.Buckets = append(h.Buckets, Bucket{LE: le, N: n})
		}
		slices.SortFunc(h.Buckets, func(a, b Bucket) int { return cmp.Compare(a.LE, b.LE) })
		m.Latency = h
	}
	return m
}

// promLabel returns the value of label name in a Prometheus label set
// (the text between the braces).
func promLabel(labels, name string) string {
	for _, kv := range splitLabels(labels) {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == name {
			v = strings.TrimSpace(v)
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// splitLabels splits `a="x",b="y,z"}` at the commas outside quotes.
func splitLabels(s string) []string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "}")
	var out []string
	inQ, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func (n *agentNode) DataPlanes(ctx context.Context) ([]DataPlane, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return nil, err
	}
	if f.Conf.Role != "control_plane" {
		return nil, nil
	}
	out, err := n.adminGet(ctx, f, "/clustering/data-planes")
	if err != nil {
		return nil, err
	}
	var body struct {
		Data []DataPlane `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		return nil, fmt.Errorf("host %s: /clustering/data-planes: %w", n.h.name, err)
	}
	return body.Data, nil
}

func (n *agentNode) ReadConf(ctx context.Context) ([]byte, error) {
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "cat " + shellquote.Quote(n.conf), Become: true})
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", n.conf, n.h.name, err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("read %s on %s: exit %d", n.conf, n.h.name, r.ExitCode)
	}
	return r.Stdout, nil
}

func (n *agentNode) WriteConf(ctx context.Context, b []byte) error {
	cmd := "umask 077; mkdir -p " + shellquote.Quote(filepath.Dir(n.conf)) + " && cat > " + shellquote.Quote(n.conf)
	r, err := n.h.conn().Run(ctx, sshremote.RunRequest{Cmd: cmd, Stdin: strings.NewReader(string(b)), Become: true})
	if err != nil {
		return fmt.Errorf("write %s on %s: %w", n.conf, n.h.name, err)
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("write %s on %s: exit %d", n.conf, n.h.name, r.ExitCode)
	}
	return nil
}

func (n *agentNode) Close() error { return nil } // the connector owns the connection

// ---- Database and Locker over the tools host's agent ----

type agentDB struct {
	h    *agentHost
	conn agentproto.DBConn
}

var _ Database = (*agentDB)(nil)

func toFingerprint(f agentproto.Fingerprint) Fingerprint {
	out := Fingerprint{Sum: f.SHA256, Tables: map[string]string{}}
	for _, t := range f.Tables {
		out.Tables[t.Name] = t.SHA256
	}
	return out
}

func (d *agentDB) Fingerprint(ctx context.Context) (Fingerprint, error) {
	f, err := d.h.client().DBFingerprint(ctx, agentproto.FingerprintParams{DB: d.conn})
	if err != nil {
		return Fingerprint{}, err
	}
	return toFingerprint(*f), nil
}

func (d *agentDB) WriteSignature(ctx context.Context, settle time.Duration) (WriteSignature, error) {
	s, err := d.h.client().WriteSignature(ctx, agentproto.WriteSignatureParams{DB: d.conn, Settle: settle})
	if err != nil {
		return WriteSignature{}, err
	}
	return WriteSignature{Usable: s.Usable, Settled: s.Settled, Tables: s.Tables, Server: s.Server, Transactions: s.Transactions, Others: s.Others, Waited: s.Waited, Note: s.Note}, nil
}

func (d *agentDB) Backup(ctx context.Context, req BackupRequest) (BackupInfo, error) {
	r, err := d.h.client().Backup(ctx, agentproto.BackupParams{DB: d.conn, Dir: req.Dir, Name: req.Name + ".dump", Format: agentproto.FormatCustom})
	if err != nil {
		return BackupInfo{}, err
	}
	b := BackupInfo{Path: r.Path, SHA256: r.SHA256, Size: r.Size}
	if r.Fingerprint != nil {
		// Taken in the dump's own snapshot: exactly what a restore gives
		// back, even when runtime tables changed while the dump started.
		b.Fingerprint = toFingerprint(*r.Fingerprint)
	}
	return b, nil
}

func (d *agentDB) VerifyRestore(ctx context.Context, b BackupInfo) error {
	_, err := d.h.client().VerifyRestore(ctx, agentproto.VerifyRestoreParams{DB: d.conn, Path: b.Path, SHA256: b.SHA256})
	return err
}

func (d *agentDB) Restore(ctx context.Context, b BackupInfo) error {
	_, err := d.h.client().Restore(ctx, agentproto.RestoreParams{DB: d.conn, Path: b.Path, SHA256: b.SHA256})
	return err
}

// Fetch copies the backup to the bastion. The dump is owner-only (root)
// on the tools host, so it is streamed through the host's become method
// (`cat` under sudo when the inventory logs in as another user), not read
// over SFTP as the login user. It lands in a temporary file that is
// fsync'd and renamed into place; the caller checks its SHA-256.
func (d *agentDB) Fetch(ctx context.Context, b BackupInfo, localPath string) error {
	if err := os.MkdirAll(filepath.Dir(localPath), 0o700); err != nil {
		return fmt.Errorf("copy backup from %s: %w", d.h.name, err)
	}
	tmp := localPath + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("copy backup from %s: %w", d.h.name, err)
	}
	defer os.Remove(tmp)
	err = d.stream(ctx, b, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, localPath)
	}
	if err != nil {
		return fmt.Errorf("copy backup %s from %s: %w", b.Path, d.h.name, err)
	}
	return nil
}

// Remove deletes the backup on the tools host through the host's become
// method (the dump is owner-only).
func (d *agentDB) Remove(ctx context.Context, b BackupInfo) error {
	r, err := d.h.conn().Run(ctx, sshremote.RunRequest{Cmd: "rm -rf -- " + shellquote.Quote(b.Path), Become: true})
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("rm exited %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	if err != nil {
		return fmt.Errorf("delete backup %s on %s: %w", b.Path, d.h.name, err)
	}
	return nil
}

func (d *agentDB) MigrationLock(ctx context.Context) (MigrationLock, error) {
	r, err := d.h.client().MigrationLock(ctx, agentproto.MigrationLockParams{DB: d.conn})
	if err != nil {
		return MigrationLock{}, err
	}
	return MigrationLock{Held: r.Held, Owner: r.Owner, Expires: r.TTL}, nil
}

func (d *agentDB) Close() error { return nil }

type agentLocker struct {
	h    *agentHost
	conn agentproto.DBConn
	ttl  time.Duration
}

var _ Locker = (*agentLocker)(nil)

func (l *agentLocker) info(fl *agentproto.FleetLock) LockInfo {
	if fl == nil {
		return LockInfo{}
	}
	li := LockInfo{RunID: fl.RunID, Owner: fl.Owner, Acquired: fl.AcquiredAt, Heartbeat: fl.HeartbeatAt}
	if fl.Stale {
		li.Expires = fl.HeartbeatAt
	} else {
		li.Expires = time.Now().Add(l.ttl - fl.Age)
	}
	return li
}

func (l *agentLocker) params(action, runID, owner string) agentproto.FleetLockParams {
	return agentproto.FleetLockParams{DB: l.conn, Action: action, RunID: runID, Owner: owner, StaleAfter: l.ttl}
}

func (l *agentLocker) Acquire(ctx context.Context, req LockRequest) (LockInfo, error) {
	if req.TTL > 0 {
		l.ttl = req.TTL
	}
	r, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockAcquire, req.RunID, req.Owner))
	if agentproto.CodeOf(err) == agentproto.CodeLockHeld {
		holder, _, ierr := l.Inspect(ctx)
		if ierr != nil {
			return LockInfo{}, fmt.Errorf("%w: %w", ErrLockHeld, err)
		}
		return holder, fmt.Errorf("%w: %w", ErrLockHeld, err)
	}
	if err != nil {
		return LockInfo{}, err
	}
	return l.info(r.Lock), nil
}

func (l *agentLocker) Heartbeat(ctx context.Context, li LockInfo) error {
	_, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockHeartbeat, li.RunID, li.Owner))
	return err
}

func (l *agentLocker) Release(ctx context.Context, li LockInfo) error {
	_, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockRelease, li.RunID, li.Owner))
	return err
}

func (l *agentLocker) Inspect(ctx context.Context) (LockInfo, bool, error) {
	r, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockInspect, "", ""))
	if err != nil {
		return LockInfo{}, false, err
	}
	return l.info(r.Lock), r.Held, nil
}

func (l *agentLocker) RecordRun(ctx context.Context, r RunRecord) error {
	_, err := l.h.client().RunJournal(ctx, agentproto.RunJournalParams{DB: l.conn, RunID: r.RunID, Phase: r.Phase, Status: r.Status, Summary: r.From + " -> " + r.To})
	return err
}
