package runner

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/kongver"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

type dbSnap struct {
	schema  string
	pending bool
	writes  int
	runtime int // heartbeats into clustering_data_planes (a runtime table)
}

// fakeCluster is an in-process fleet: nodes, a database with Kong's
// schema state, backups, Kong's migrations lock and the fleet lock. It
// records every operation in order.
type fakeCluster struct {
	mu    sync.Mutex
	calls []string
	nodes map[string]*fakeNode
	db    dbSnap
	// teardowns: `up` leaves pending migrations.
	teardowns bool
	backups   map[string]dbSnap
	dumped    map[string]dbSnap // every dump ever taken, by path (what Put may write back)
	lock      *fleet.LockInfo
	migLock   fleet.MigrationLock
	clk       *fakeClock
	// fail returns an error for "host op" keys (op as recorded).
	fail func(call string) error
	// after runs after a call is recorded (and its effect applied).
	after func(call string)
	// abort makes `up`/`finish` answer "aborted" this many times.
	abort map[string]int
	dps   []fleet.DataPlane
	// steps holds the detached migrations steps by step id (state);
	// running counts the MigrationStep polls a step still reports running.
	steps   map[string]string
	running map[string]int
	// metrics, when set, answers Metrics (n counts the host's reads).
	metrics func(host, version string, n int) fleet.Metrics
	reads   map[string]int
	// removed records hosts whose Kong package was removed.
	removed map[string]bool
	// background records hosts whose install ran at a lower priority.
	background map[string]bool
	// clients are other clients connected to Kong's database (the write
	// signature does not settle while there are any); statsOff makes the
	// write counters unusable (PostgreSQL before 15).
	clients  []string
	statsOff bool
	restarts int // of the database server (its counters start over)
	// crashed is the services counters crash recovery left (as a table
	// whose counters were zero reads zero again): set, the statistics
	// were reset.
	crashed string
	// statsLag is how many writes the write counters do not show yet
	// (still pending in a live connection).
	statsLag int
	// rows answers RowCounts; migReqs records every MigrationsRequest.
	rows    map[string]int64
	migReqs []fleet.MigrationsRequest
	// pkgSteps are the detached install steps the nodes finished, by id;
	// installIDs is every "host stepID" an install was asked under;
	// halfDone is what a node's package database reports half-done (the
	// next RepairPackages repairs it).
	pkgSteps   map[string]bool
	installIDs []string
	halfDone   map[string]string
	// pg and hba are the PostgreSQL server's facts (preflight_pgreq_test.go).
	pg  upgradepath.PGServer
	hba []upgradepath.HBARule
	// targetPG and targetHBA are the dual-cluster target server's
	// (dualcluster_server_test.go).
	targetPG  upgradepath.PGServer
	targetHBA []upgradepath.HBARule
	// scratch are the rehearsal's scratch databases on the server
	// (rehearsal_test.go); noCreateDB is Kong's role without CREATEDB;
	// migOutput makes `host migrations cmd` exit 1 with that output.
	scratch    map[string]dbSnap
	noCreateDB bool
	migOutput  map[string]string
	// listQueue are the states the next `migrations list` calls return,
	// whatever the database holds (an up still running elsewhere).
	listQueue []fleet.SchemaState
	// lb is the load balancer in front of the nodes (lbdrain_test.go).
	lb *fakeLB
	// cp is the control planes' view of the data planes, when the
	// fleet is hybrid (dataplanes_test.go); nil: dps answers.
	cp *fakeCP
}

func newFakeCluster(t *testing.T, from string, nodes ...string) *fakeCluster {
	c := &fakeCluster{nodes: map[string]*fakeNode{}, backups: map[string]dbSnap{}, dumped: map[string]dbSnap{}, teardowns: true,
		clk: &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}, abort: map[string]int{},
		steps: map[string]string{}, running: map[string]int{}, pkgSteps: map[string]bool{}, halfDone: map[string]string{}, reads: map[string]int{}, removed: map[string]bool{}, background: map[string]bool{},
		scratch: map[string]dbSnap{}, migOutput: map[string]string{},
		db: dbSnap{schema: from, writes: 10}}
	for _, n := range nodes {
		c.nodes[n] = &fakeNode{c: c, name: n, version: from, running: true, plugins: []string{"key-auth", "rate-limiting"}, conf: map[string]string{"database": "postgres"}}
	}
	return c
}

func (c *fakeCluster) record(call string) error {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	f := c.fail
	c.mu.Unlock()
	if f != nil {
		return f(call)
	}
	return nil
}

func (c *fakeCluster) done(call string) {
	if c.after != nil {
		c.after(call)
	}
}

func (c *fakeCluster) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *fakeCluster) fingerprint() fleet.Fingerprint {
	return fleet.Fingerprint{Sum: fmt.Sprintf("w%d-s%s-p%v-r%d", c.db.writes, c.db.schema, c.db.pending, c.db.runtime),
		Tables: map[string]string{"services": fmt.Sprint(c.db.writes), "schema_meta": c.db.schema + fmt.Sprint(c.db.pending),
			"clustering_data_planes": fmt.Sprint(c.db.runtime)}}
}

// writeSignature counts writes to the configuration tables only.
func (c *fakeCluster) writeSignature(settle time.Duration, endFrom []string) fleet.WriteSignature {
	if c.statsOff {
		return fleet.WriteSignature{Note: "PostgreSQL 14.9 sends table statistics through the statistics collector"}
	}
	// Clients named application@address from a stopped node's address
	// are ended, as the agent does (pg_terminate_backend).
	var ended []string
	c.clients = slices.DeleteFunc(c.clients, func(cl string) bool {
		_, addr, _ := strings.Cut(cl, "@")
		if slices.Contains(endFrom, addr) {
			ended = append(ended, cl)
			return true
		}
		return false
	})
	s := fleet.WriteSignature{Usable: true, Settled: len(c.clients) == 0, Server: fmt.Sprint(c.restarts), Transactions: int64(1000 + len(c.calls)), Tables: map[string]string{
		"services": fmt.Sprintf("16390 %d 0 0", c.db.writes-c.statsLag), "schema_meta": "16400 " + c.db.schema + fmt.Sprint(c.db.pending)}}
	if c.crashed != "" {
		s.Tables["services"], s.Transactions = c.crashed, 3
	}
	if !s.Settled {
		s.Others, s.Waited = append([]string(nil), c.clients...), settle
	}
	s.Ended = ended
	return s
}

// Connector
func (c *fakeCluster) Node(ctx context.Context, host string) (fleet.Node, error) {
	if err := c.record(host + " connect"); err != nil {
		return nil, err
	}
	n, ok := c.nodes[host]
	if !ok {
		return nil, fmt.Errorf("no such host %s", host)
	}
	return n, nil
}
func (c *fakeCluster) Database(ctx context.Context) (fleet.Database, error) { return fakeDB{c}, nil }
func (c *fakeCluster) Locker(ctx context.Context) (fleet.Locker, error)     { return fakeLocker{c}, nil }
func (c *fakeCluster) Close() error                                         { return nil }

type fakeNode struct {
	c       *fakeCluster
	name    string
	version string
	running bool
	plugins []string
	conf    map[string]string
	staged  []string
	// adminAPI is Facts.AdminAPI (the Admin API's answer to the token).
	adminAPI int
	// db, envSource, envError are the effective database settings.
	db                  []fleet.ConfSetting
	envSource, envError string
	// stagedFile, when set, is what the host finds in a staged file
	// (default: the ref's package and version, dependencies met).
	stagedFile func(fleet.PackageRef) fleet.StagedPackage
	// confEntries are Facts.ConfEntries (of /etc/kong/kong.conf).
	confEntries []upgradepath.ConfEntry
	// yCheck is what Y's kong check / prepare answer (zero: both pass).
	yCheck fleet.YConfCheck
	// edition is Facts.Edition ("": oss); keyring is Facts.Keyring and
	// krIDs the node's keyring in memory (keyring_test.go).
	edition string
	keyring fleet.KeyringConf
	krIDs   []string
	// scratchDB names the scratch database this node's migrations run on
	// (a rehearsal host); pkgFormat overrides Facts.PackageFormat.
	scratchDB string
	pkgFormat string
	// svcEnv is the service environment ServiceEnv returns (its values);
	// carried the one WithKongEnv gave the node (the rehearsal host),
	// whose KONG_PG_DATABASE its migrations then run on.
	svcEnv  agentproto.KongEnv
	carried agentproto.KongEnv
	// notRouted is how many probes answer 404 first (a router not built
	// yet).
	notRouted int
	// plugins is the custom plugin packages installed: name -> version
	// (the answer to pluginQuery).
	pluginPkgs map[string]string
	// wroteConf is the kong.conf last written (WriteConf).
	wroteConf []byte
	// confText is kong.conf's text (default "database = postgres");
	// files the host's files by path (FileCopier, pathsQuery, rm).
	confText string
	files    map[string]string
}

func (n *fakeNode) ServiceEnv(ctx context.Context) (fleet.ServiceEnv, error) {
	if err := n.op("service-env"); err != nil {
		return fleet.ServiceEnv{}, err
	}
	src := ""
	if len(n.svcEnv) > 0 {
		src = cmp.Or(n.envSource, "file /etc/kong/kong.env")
	}
	return fleet.ServiceEnv{Source: src, Vars: maps.Clone(n.svcEnv)}, nil
}

func (n *fakeNode) WithKongEnv(env agentproto.KongEnv) fleet.Node {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	n.carried = maps.Clone(env)
	if db := env["KONG_PG_DATABASE"]; db != "" {
		n.scratchDB = db
	}
	return n
}

func (n *fakeNode) CheckConfWithY(ctx context.Context, y fleet.PackageRef) (fleet.YConfCheck, error) {
	if err := n.op("conf-check " + y.Version); err != nil {
		return fleet.YConfCheck{}, err
	}
	return n.yCheck, nil
}

func (n *fakeNode) op(op string) error { return n.c.record(n.name + " " + op) }

func (n *fakeNode) Facts(ctx context.Context) (fleet.Facts, error) {
	if err := n.op("facts"); err != nil {
		return fleet.Facts{}, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return fleet.Facts{Version: n.version, Edition: cmp.Or(n.edition, "oss"), Keyring: n.keyring, Running: n.running, Arch: "amd64", PackageFormat: cmp.Or(n.pkgFormat, "deb"), DiskFreeBytes: 10 << 30, Plugins: n.plugins, Conf: n.conf, Role: "traditional", AdminAPI: n.adminAPI,
		DB: n.db, EnvSource: n.envSource, EnvError: n.envError,
		ConfFile: "/etc/kong/kong.conf", ConfEntries: n.confEntries}, nil
}
func (n *fakeNode) Stop(ctx context.Context, timeout time.Duration) error {
	if err := n.op("stop"); err != nil {
		return err
	}
	n.c.mu.Lock()
	n.running = false
	n.c.mu.Unlock()
	n.c.done(n.name + " stop")
	return nil
}
func (n *fakeNode) Start(ctx context.Context, timeout time.Duration) (fleet.Health, error) {
	n.c.mu.Lock()
	v := n.version
	n.c.mu.Unlock()
	if err := n.op("start " + v); err != nil {
		return fleet.Health{}, err
	}
	n.c.mu.Lock()
	n.running = true
	n.c.mu.Unlock()
	return fleet.Health{}, nil // health is asked separately
}
func (n *fakeNode) Health(ctx context.Context) (fleet.Health, error) {
	if err := n.op("health"); err != nil {
		return fleet.Health{}, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return fleet.Health{Running: n.running, Version: n.version, StatusOK: n.running, Ready: n.running, DBReachable: n.running}, nil
}
func (n *fakeNode) StagePackage(ctx context.Context, p fleet.PackageRef) (fleet.StagedPackage, error) {
	if err := n.op("stage " + p.Version); err != nil {
		return fleet.StagedPackage{}, err
	}
	n.staged = append(n.staged, p.Version)
	if n.stagedFile != nil {
		return n.stagedFile(p), nil
	}
	return fleet.StagedPackage{Package: p.Name, Version: p.Version, DepsMet: true}, nil
}
func (n *fakeNode) HoldPackage(ctx context.Context, p fleet.PackageRef) error {
	return n.op("hold " + p.Name + " " + p.Version)
}
func (n *fakeNode) InstallPackage(ctx context.Context, p fleet.PackageRef, timeout time.Duration) error {
	if p.StepID != "" {
		n.c.mu.Lock()
		n.c.installIDs = append(n.c.installIDs, n.name+" "+p.StepID)
		finished := n.c.pkgSteps[p.StepID]
		n.c.mu.Unlock()
		if finished { // re-attached: the node installed it already
			return n.op("attach " + p.StepID)
		}
	}
	if p.Plugin {
		if err := n.op("install-plugin " + p.Name + " " + p.Version); err != nil {
			return err
		}
		n.c.mu.Lock()
		defer n.c.mu.Unlock()
		if n.pluginPkgs == nil {
			n.pluginPkgs = map[string]string{}
		}
		n.pluginPkgs[p.Name] = p.Version
		return nil
	}
	call := "install " + p.Version
	if err := n.op(call); err != nil {
		return err
	}
	// A detached install finishes on the node whatever happens to the
	// controller's wait; an attached one is cut off with it.
	if err := ctx.Err(); err != nil && p.StepID == "" {
		return err
	}
	n.c.mu.Lock()
	n.version = p.Version
	if p.Background {
		n.c.background[n.name] = true
	}
	if p.StepID != "" {
		n.c.pkgSteps[p.StepID] = true
	}
	n.c.mu.Unlock()
	n.c.done(n.name + " " + call)
	return ctx.Err()
}
func (n *fakeNode) RepairPackages(ctx context.Context, p fleet.PackageRef, wait time.Duration) (fleet.PackageRepair, error) {
	if err := n.op("repair"); err != nil {
		return fleet.PackageRepair{}, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	found := n.c.halfDone[n.name]
	delete(n.c.halfDone, n.name)
	if found == "" {
		return fleet.PackageRepair{Checked: "dpkg --audit"}, nil
	}
	return fleet.PackageRepair{Checked: "dpkg --audit", Found: found, Repaired: "dpkg --configure -a"}, nil
}
func (n *fakeNode) RemovePackage(ctx context.Context, p fleet.PackageRef) error {
	if err := n.op("remove " + p.Name + " " + p.Version); err != nil {
		return err
	}
	n.c.mu.Lock()
	n.version = ""
	n.c.removed[n.name] = true
	n.c.mu.Unlock()
	return nil
}
func (n *fakeNode) Migrations(ctx context.Context, req fleet.MigrationsRequest) (fleet.SchemaState, error) {
	call := "migrations " + req.Command
	c := n.c
	c.mu.Lock()
	c.migReqs = append(c.migReqs, req)
	c.mu.Unlock()
	if req.StepID != "" {
		c.mu.Lock()
		c.steps[req.StepID] = fleet.StepDone
		c.mu.Unlock()
	}
	if err := n.op(call); err != nil {
		return fleet.SchemaState{}, err
	}
	if out, ok := c.migOutput[n.name+" "+call]; ok {
		return fleet.SchemaState{ExitCode: 1, Output: out}, nil
	}
	c.mu.Lock()
	db := &c.db
	if n.scratchDB != "" {
		snap, ok := c.scratch[n.scratchDB]
		if !ok {
			c.mu.Unlock()
			return fleet.SchemaState{}, fmt.Errorf("database %s does not exist", n.scratchDB)
		}
		db = &snap
		defer func() { c.mu.Lock(); c.scratch[n.scratchDB] = snap; c.mu.Unlock() }()
	}
	bin := kongver.MustParse(n.version)
	dbv := kongver.MustParse(db.schema)
	var st fleet.SchemaState
	switch req.Command {
	case "list", "status":
		switch {
		case len(c.listQueue) > 0:
			st, c.listQueue = c.listQueue[0], c.listQueue[1:]
		case db.pending:
			st = fleet.SchemaState{ExitCode: 4, Pending: []string{"core:016_280_to_300"}}
			if dbv.Core().Compare(bin.Core()) < 0 {
				st.New = []string{"core:017"}
			}
		case dbv.Core().Compare(bin.Core()) < 0:
			st = fleet.SchemaState{ExitCode: 5, New: []string{"core:016_280_to_300"}}
		default:
			st = fleet.SchemaState{ExitCode: 0}
		}
	case "up":
		if c.abort["up"] > 0 {
			c.abort["up"]--
			c.mu.Unlock()
			return fleet.SchemaState{Aborted: true, Output: "aborted: another node is performing database changes"}, nil
		}
		if db.pending {
			c.mu.Unlock()
			return fleet.SchemaState{ExitCode: 1, Output: "Error: Database has pending migrations; run 'kong migrations finish'"}, nil
		}
		db.schema, db.pending = n.version, c.teardowns
		db.writes++
	case "finish":
		if c.abort["finish"] > 0 {
			c.abort["finish"]--
			c.mu.Unlock()
			return fleet.SchemaState{Aborted: true}, nil
		}
		db.pending = false
		db.writes++
	}
	c.mu.Unlock()
	c.done(n.name + " " + call)
	if err := ctx.Err(); err != nil {
		return fleet.SchemaState{}, err // the reply is lost with the controller
	}
	return st, nil
}
func (n *fakeNode) MigrationStep(ctx context.Context, stepID string, wait time.Duration) (string, error) {
	if err := n.op("step " + stepID); err != nil {
		return "", err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	st, ok := n.c.steps[stepID]
	if !ok {
		return fleet.StepNone, nil
	}
	if n.c.running[stepID] > 0 {
		n.c.running[stepID]--
		n.c.clk.t = n.c.clk.t.Add(wait)
		return fleet.StepRunning, nil
	}
	return st, nil
}
func (n *fakeNode) Exec(ctx context.Context, req fleet.ExecRequest) (fleet.ExecResult, error) {
	if names, ok := req.Env["KONGCTL_PLUGIN_PACKAGES"]; ok {
		if err := n.op("query-plugins " + names); err != nil {
			return fleet.ExecResult{}, err
		}
		n.c.mu.Lock()
		defer n.c.mu.Unlock()
		var out strings.Builder
		for _, p := range strings.Fields(names) {
			fmt.Fprintf(&out, "%s\t%s\n", p, n.pluginPkgs[p])
		}
		return fleet.ExecResult{Stdout: out.String()}, nil
	}
	if list, ok := req.Env["KONGCTL_LIST"]; ok { // listCopies or removeCopies
		paths, add := req.Env["KONGCTL_PATHS"]
		if err := n.op(map[bool]string{true: "list-copies " + strings.ReplaceAll(paths, "\n", ","), false: "remove-copies"}[add]); err != nil {
			return fleet.ExecResult{}, err
		}
		n.c.mu.Lock()
		defer n.c.mu.Unlock()
		if n.files == nil {
			n.files = map[string]string{}
		}
		if add {
			n.files[list] += paths + "\n"
			return fleet.ExecResult{}, nil
		}
		var out strings.Builder
		for _, p := range strings.Fields(n.files[list]) {
			if _, ok := n.files[p]; ok {
				delete(n.files, p)
				out.WriteString(p + "\n")
			}
		}
		delete(n.files, list)
		return fleet.ExecResult{Stdout: out.String()}, nil
	}
	if paths, ok := req.Env["KONGCTL_PATHS"]; ok { // pathsQuery
		if err := n.op("paths " + strings.ReplaceAll(paths, "\n", ",")); err != nil {
			return fleet.ExecResult{}, err
		}
		n.c.mu.Lock()
		defer n.c.mu.Unlock()
		var out strings.Builder
		for _, p := range strings.Split(paths, "\n") {
			if _, ok := n.files[p]; ok {
				out.WriteString(p + "\n")
			}
		}
		return fleet.ExecResult{Stdout: out.String()}, nil
	}
	if err := n.op("exec " + req.Command); err != nil {
		return fleet.ExecResult{}, err
	}
	return fleet.ExecResult{}, nil
}
func (n *fakeNode) Probe(ctx context.Context, req fleet.ProbeRequest) (fleet.ProbeResult, error) {
	if err := n.op("probe " + req.Path); err != nil {
		return fleet.ProbeResult{}, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if n.notRouted > 0 {
		n.notRouted--
		return fleet.ProbeResult{Status: 404}, nil
	}
	return fleet.ProbeResult{Status: 200}, nil
}
func (n *fakeNode) Metrics(ctx context.Context) (fleet.Metrics, error) {
	if err := n.op("metrics"); err != nil {
		return fleet.Metrics{}, err
	}
	n.c.mu.Lock()
	f := n.c.metrics
	n.c.reads[n.name]++
	k, v := n.c.reads[n.name], n.version
	n.c.mu.Unlock()
	if f != nil {
		return f(n.name, v, k), nil
	}
	return fleet.Metrics{Requests: 100, Errors: 0}, nil
}
func (n *fakeNode) DataPlanes(ctx context.Context) ([]fleet.DataPlane, error) {
	if err := n.op("dataplanes"); err != nil {
		return nil, err
	}
	if n.c.cp != nil {
		return n.c.cp.rows(), nil
	}
	return n.c.dps, nil
}
func (n *fakeNode) ReadConf(ctx context.Context) ([]byte, error) {
	n.c.mu.Lock()
	conf := cmp.Or(n.confText, "database = postgres\n")
	n.c.mu.Unlock()
	return []byte(conf), n.op("readconf")
}

// ReadFile and CreateFile (fleet.FileCopier) work on n.files.
func (n *fakeNode) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := n.op("readfile " + path); err != nil {
		return nil, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	b, ok := n.files[path]
	if !ok {
		return nil, fmt.Errorf("read %s on %s: exit 1", path, n.name)
	}
	return []byte(b), nil
}
func (n *fakeNode) CreateFile(ctx context.Context, path string, b []byte) (bool, error) {
	if err := n.op("createfile " + path); err != nil {
		return false, err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if _, ok := n.files[path]; ok {
		return false, nil
	}
	if n.files == nil {
		n.files = map[string]string{}
	}
	n.files[path] = string(b)
	return true, nil
}
func (n *fakeNode) WriteConf(ctx context.Context, b []byte) error {
	if m := regexp.MustCompile(`(?m)^pg_database = (\S+)$`).FindSubmatch(b); m != nil {
		n.c.mu.Lock()
		n.scratchDB = string(m[1])
		n.c.mu.Unlock()
	}
	n.c.mu.Lock()
	n.wroteConf = bytes.Clone(b)
	n.c.mu.Unlock()
	return n.op("writeconf")
}
func (n *fakeNode) Close() error { return nil }

type fakeDB struct{ c *fakeCluster }

// writeAfterFirstBackup makes an admin write accepted right after the
// first backup, before the stop (the backup must be taken again).
func writeAfterFirstBackup(c *fakeCluster) {
	first := true
	c.after = func(call string) {
		if call == "db backup" && first {
			first = false
			c.mu.Lock()
			c.db.writes++
			c.mu.Unlock()
		}
	}
}

func (d fakeDB) Fingerprint(ctx context.Context) (fleet.Fingerprint, error) {
	if err := d.c.record("db fingerprint"); err != nil {
		return fleet.Fingerprint{}, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return d.c.fingerprint(), nil
}
func (d fakeDB) WriteSignature(ctx context.Context, settle time.Duration, endFrom []string) (fleet.WriteSignature, error) {
	if err := d.c.record("db write-signature"); err != nil {
		return fleet.WriteSignature{}, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return d.c.writeSignature(settle, endFrom), nil
}
func (d fakeDB) Backup(ctx context.Context, req fleet.BackupRequest) (fleet.BackupInfo, error) {
	if err := d.c.record("db backup " + req.Name); err != nil {
		return fleet.BackupInfo{}, err
	}
	d.c.mu.Lock()
	path := req.Dir + "/" + req.Name + ".dump"
	d.c.backups[path] = d.c.db
	d.c.dumped[path] = d.c.db
	content := backupContent(path, d.c.db)
	fp := d.c.fingerprint() // in the dump's snapshot
	d.c.mu.Unlock()
	sum := sha256.Sum256([]byte(content))
	d.c.done("db backup")
	return fleet.BackupInfo{Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Fingerprint: fp}, nil
}

func backupContent(path string, s dbSnap) string { return fmt.Sprintf("%s %+v", path, s) }

func (d fakeDB) VerifyRestore(ctx context.Context, b fleet.BackupInfo) error {
	return d.c.record("db verify-restore " + filepath.Base(b.Path))
}
func (d fakeDB) Restore(ctx context.Context, b fleet.BackupInfo) error {
	if err := d.c.record("db restore " + filepath.Base(b.Path)); err != nil {
		return err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	s, ok := d.c.backups[b.Path]
	if !ok {
		return fmt.Errorf("no backup %s", b.Path)
	}
	d.c.db = s
	return nil
}
func (d fakeDB) Fetch(ctx context.Context, b fleet.BackupInfo, localPath string) error {
	if err := d.c.record("db fetch " + filepath.Base(b.Path)); err != nil {
		return err
	}
	d.c.mu.Lock()
	content := backupContent(b.Path, d.c.backups[b.Path])
	d.c.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(localPath), 0o700); err != nil {
		return err
	}
	return os.WriteFile(localPath, []byte(content), 0o600)
}
func (d fakeDB) Stream(ctx context.Context, b fleet.BackupInfo, w io.Writer) error {
	if err := d.c.record("db stream " + filepath.Base(b.Path)); err != nil {
		return err
	}
	d.c.mu.Lock()
	s, ok := d.c.backups[b.Path]
	d.c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no backup %s", b.Path)
	}
	_, err := io.WriteString(w, backupContent(b.Path, s))
	return err
}
func (d fakeDB) Put(ctx context.Context, b fleet.BackupInfo, r io.Reader) error {
	if err := d.c.record("db put " + filepath.Base(b.Path)); err != nil {
		return err
	}
	got, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	s, ok := d.c.dumped[b.Path]
	if !ok || string(got) != backupContent(b.Path, s) {
		return fmt.Errorf("put %s: not the dump taken there", b.Path)
	}
	d.c.backups[b.Path] = s
	return nil
}
func (d fakeDB) Remove(ctx context.Context, b fleet.BackupInfo) error {
	if err := d.c.record("db remove " + filepath.Base(b.Path)); err != nil {
		return err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	delete(d.c.backups, b.Path)
	return nil
}
func (d fakeDB) MigrationLock(ctx context.Context) (fleet.MigrationLock, error) {
	if err := d.c.record("db migration-lock"); err != nil {
		return fleet.MigrationLock{}, err
	}
	return d.c.migLock, nil
}
func (d fakeDB) Close() error { return nil }

type fakeLocker struct{ c *fakeCluster }

func (l fakeLocker) Acquire(ctx context.Context, req fleet.LockRequest) (fleet.LockInfo, error) {
	if err := l.c.record("lock acquire"); err != nil {
		return fleet.LockInfo{}, err
	}
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	if l.c.lock != nil && l.c.lock.RunID != req.RunID {
		return *l.c.lock, fmt.Errorf("acquire: %w", fleet.ErrLockHeld)
	}
	now := l.c.clk.Now()
	l.c.lock = &fleet.LockInfo{RunID: req.RunID, Owner: req.Owner, Acquired: now, Heartbeat: now, Expires: now.Add(req.TTL)}
	return *l.c.lock, nil
}
func (l fakeLocker) Heartbeat(ctx context.Context, info fleet.LockInfo) error { return nil }
func (l fakeLocker) Release(ctx context.Context, info fleet.LockInfo) error {
	if err := l.c.record("lock release"); err != nil {
		return err
	}
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	if l.c.lock != nil && l.c.lock.RunID == info.RunID {
		l.c.lock = nil
	}
	return nil
}
func (l fakeLocker) Inspect(ctx context.Context) (fleet.LockInfo, bool, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	if l.c.lock == nil {
		return fleet.LockInfo{}, false, nil
	}
	return *l.c.lock, true, nil
}
func (l fakeLocker) RecordRun(ctx context.Context, r fleet.RunRecord) error { return nil }

// testSpec is a 3-node in-place upgrade 2.8.4 → 3.4.2 with packages in a
// temp dir.
func testSpec(t *testing.T, nodes ...string) *Spec {
	t.Helper()
	if len(nodes) == 0 {
		nodes = []string{"kong-1", "kong-2", "kong-3"}
	}
	dir := t.TempDir()
	pkgs := filepath.Join(dir, "packages")
	os.MkdirAll(pkgs, 0o755)
	for _, v := range []string{"2.8.4", "3.4.2"} {
		os.WriteFile(filepath.Join(pkgs, "kong_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644)
	}
	s := &Spec{
		InventoryPath: filepath.Join(dir, "hosts.hcl"),
		StateDir:      filepath.Join(dir, ".kongctl"),
		Nodes:         nodes,
		ToolsHost:     "db",
		From:          "2.8.4",
		To:            "3.4.2",
		Edition:       "oss",
		Package:       PackageSpec{Source: "file", Dir: pkgs},
		RestoreDB:     true,
		Backup:        BackupSpec{Dir: "/var/backups/kongctl"},
		Verify:        VerifySpec{Soak: 10 * time.Second, Interval: 5 * time.Second, Smoke: []SmokeSpec{{Path: "/lab", Status: 200}}, MaxErrorRate: 0.01},
	}
	for i, n := range nodes {
		s.Hosts = append(s.Hosts, HostSpec{Name: n, Address: fmt.Sprintf("10.0.1.%d", i+1), Roles: []string{"kong"}})
	}
	s.Hosts = append(s.Hosts, HostSpec{Name: "db", Roles: []string{"database"}})
	return s
}

func testConfig(c *fakeCluster) runConfig {
	return runConfig{conn: c, clk: c.clk, yes: true}
}

// indexOfCall finds the first call equal to want at or after from.
func indexOfCall(calls []string, want string, from int) int {
	for i := from; i < len(calls); i++ {
		if calls[i] == want {
			return i
		}
	}
	return -1
}

func countCalls(calls []string, pred func(string) bool) int {
	n := 0
	for _, c := range calls {
		if pred(c) {
			n++
		}
	}
	return n
}

func hasSuffix(s string) func(string) bool {
	return func(c string) bool { return strings.HasSuffix(c, s) }
}

var _ fleet.ScratchDB = fakeDB{}

func (d fakeDB) RestoreScratch(ctx context.Context, b fleet.BackupInfo, name string) error {
	if err := d.c.record("db restore-scratch " + name); err != nil {
		return err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	s, ok := d.c.backups[b.Path]
	if !ok {
		return fmt.Errorf("no backup %s", b.Path)
	}
	d.c.scratch[name] = s
	return nil
}

func (d fakeDB) DropScratch(ctx context.Context, names []string, all bool) ([]string, error) {
	if err := d.c.record(fmt.Sprintf("db drop-scratch %s all=%v", strings.Join(names, ","), all)); err != nil {
		return nil, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	var out []string
	for n := range d.c.scratch {
		if all || slices.Contains(names, n) {
			delete(d.c.scratch, n)
			out = append(out, n)
		}
	}
	return out, nil
}

func (d fakeDB) CanCreateDB(ctx context.Context) (bool, string, error) {
	if err := d.c.record("db can-create"); err != nil {
		return false, "", err
	}
	if d.c.noCreateDB {
		return false, "role kong has neither CREATEDB nor SUPERUSER, so it cannot create the scratch database", nil
	}
	return true, "", nil
}
