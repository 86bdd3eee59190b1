package sshfleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/promtext"
	"github.com/kongctl/kongctl/controller/upgradepath"

	"github.com/kongctl/kongctl/agent/agentproto"
)

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
	// kongEnv, when set, is the service environment of every kong
	// command (WithKongEnv), carried in the request bodies.
	kongEnv agentproto.KongEnv

	mu     sync.Mutex
	staged map[string]string // stagedKey (package name=version) -> staged path
	facts  *agentproto.Facts
}

var _ fleet.Node = (*agentNode)(nil)

// AgentTimes are the agent's own durations, summed per operation since the
// connection was made ("migrations.up" and "migrations.finish" for the
// detached migrations).
func (n *agentNode) AgentTimes() map[string]time.Duration { return n.h.time.snapshot() }

func (n *agentNode) Facts(ctx context.Context) (fleet.Facts, error) {
	f, err := n.h.client().Facts(ctx, agentproto.FactsParams{KongConf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, KongEnv: n.kongEnv})
	if err != nil {
		return fleet.Facts{}, err
	}
	n.mu.Lock()
	n.facts = f
	n.mu.Unlock()
	out := fleet.Facts{
		Version: f.Kong.Version, Edition: f.Kong.Edition, Running: f.Service.Running,
		Arch: goarch(f.Arch), PackageFormat: pkgFormat(f.PackageManager), Role: f.Conf.Role, Service: f.Service.Unit,
		Conf: map[string]string{"database": f.Conf.DB.Database, "role": f.Conf.Role, "status_listen": f.Conf.StatusListen, "admin_listen": f.Conf.AdminListen, "plugins": f.Conf.Plugins,
			"enforce_rbac": f.Conf.EnforceRBAC, "konnect_mode": f.Conf.KonnectMode, "cluster_control_plane": f.Conf.ClusterControlPlane},
	}
	out.ConfFile, out.ConfEntries = f.Conf.Path, confEntries(f.Conf.Entries)
	out.Keyring = fleet.KeyringConf(f.Conf.Keyring)
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
	if !f.Service.Running || fleet.FirstListen(f.Conf.AdminListen) == "off" {
		return 0
	}
	p := n.adminRequest(f, "/")
	p.Timeout, p.Discard = 10*time.Second, true
	r, err := n.h.client().HTTPGet(ctx, p)
	if err != nil {
		return 0
	}
	return r.Status
}

// dbSettings are a node's effective database settings, in a fixed order,
// with the password's value replaced by whether it is set.
func dbSettings(c agentproto.KongConf) []fleet.ConfSetting {
	if len(c.DBSources) == 0 {
		return nil
	}
	pw := "not set"
	if c.HasPGPassword {
		pw = "set"
	}
	vals := []struct{ k, v string }{{"database", c.DB.Database}, {"pg_host", c.DB.Host}, {"pg_port", strconv.Itoa(c.DB.Port)},
		{"pg_database", c.DB.Name}, {"pg_user", c.DB.User}, {"pg_schema", c.DB.Schema}, {"pg_password", pw}}
	out := make([]fleet.ConfSetting, 0, len(vals))
	for _, kv := range vals {
		out = append(out, fleet.ConfSetting{Key: kv.k, Value: kv.v, Source: c.DBSources[kv.k]})
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
	return agentproto.ServiceParams{Manager: n.manager, Conf: n.conf, Prefix: n.prefix, EnvFile: n.envFile, GraceTimeout: timeout, StartTimeout: timeout, AdminToken: n.token, KongEnv: n.kongEnv}
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

func (n *agentNode) Start(ctx context.Context, timeout time.Duration) (fleet.Health, error) {
	res, err := n.h.client().ServiceStart(ctx, n.svc(timeout))
	if err != nil || res.Health == nil {
		return fleet.Health{}, err
	}
	return healthOf(res.Health), nil
}

func (n *agentNode) Health(ctx context.Context) (fleet.Health, error) {
	hr, err := n.h.client().Health(ctx, agentproto.HealthParams{Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, AdminToken: n.token, KongEnv: n.kongEnv})
	if err != nil {
		if agentproto.CodeOf(err) == agentproto.CodeUnhealthy {
			return fleet.Health{Detail: err.Error()}, nil
		}
		return fleet.Health{}, err
	}
	return healthOf(hr), nil
}

// healthOf reads the agent's health result.
func healthOf(hr *agentproto.HealthResult) fleet.Health {
	h := fleet.Health{Running: hr.CLI, Version: hr.Version, Ready: true, DBReachable: hr.Healthy}
	if hr.Admin != nil {
		h.StatusOK = hr.Admin.Status >= 200 && hr.Admin.Status < 300
	}
	if hr.Status != nil {
		h.Ready = hr.Status.Status >= 200 && hr.Status.Status < 300
		if hr.Admin == nil {
			// No Admin API (a data plane: admin_listen = off): the
			// Status API's answer is the node's; its version is read
			// elsewhere (the control plane's /clustering/data-planes).
			h.StatusOK = h.Ready
		}
	}
	if !hr.Healthy {
		h.Detail = hr.CLIOut
	}
	return h
}

func (n *agentNode) Exec(ctx context.Context, req fleet.ExecRequest) (fleet.ExecResult, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	r, err := n.h.client().Exec(ctx, agentproto.ExecParams{Command: req.Command, Env: req.Env})
	if err != nil {
		return fleet.ExecResult{}, err
	}
	return fleet.ExecResult{ExitCode: r.ExitCode, Stdout: r.StdoutTail, Stderr: r.StderrTail}, nil
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

func (n *agentNode) Probe(ctx context.Context, req fleet.ProbeRequest) (fleet.ProbeResult, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return fleet.ProbeResult{}, err
	}
	r, err := n.h.client().HTTPGet(ctx, agentproto.HTTPGetParams{URL: listenURL(f.Conf.ProxyListen, "0.0.0.0:8000") + req.Path, Host: req.Host, Timeout: req.Timeout, Discard: true})
	if err != nil {
		return fleet.ProbeResult{}, err
	}
	return fleet.ProbeResult{Status: r.Status, Latency: r.Latency}, nil
}

func (n *agentNode) Metrics(ctx context.Context) (fleet.Metrics, error) {
	body, err := n.adminGet(ctx, "/metrics")
	if err != nil {
		return fleet.Metrics{}, err
	}
	return promtext.Parse(body), nil
}

// adminRequest is a request for path on the node's own Admin API (its
// first admin_listen), with the inventory's admin token in the header
// Kong reads it from (kong-reference 9.1).
func (n *agentNode) adminRequest(f *agentproto.Facts, path string) agentproto.HTTPGetParams {
	return agentproto.HTTPGetParams{URL: listenURL(f.Conf.AdminListen, "127.0.0.1:8001") + path, AdminToken: n.token, TokenHeader: f.Conf.RBACAuthHeader}
}

// adminGet reads path from the node's own Admin API (the agent's http.get:
// the whole body); any status but 200 is an error.
func (n *agentNode) adminGet(ctx context.Context, path string) (string, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return "", err
	}
	p := n.adminRequest(f, path)
	r, err := n.h.client().HTTPGet(ctx, p)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("host %s: GET %s: HTTP %d", n.h.name, p.URL, r.Status)
	}
	return r.Body, nil
}

func (n *agentNode) DataPlanes(ctx context.Context) ([]fleet.DataPlane, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return nil, err
	}
	if f.Conf.Role != "control_plane" {
		return nil, nil
	}
	out, err := n.adminGet(ctx, "/clustering/data-planes")
	if err != nil {
		return nil, err
	}
	var body struct {
		Data []fleet.DataPlane `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		return nil, fmt.Errorf("host %s: /clustering/data-planes: %w", n.h.name, err)
	}
	return body.Data, nil
}

func (n *agentNode) Close() error { return nil } // the connector owns the connection
// confEntries converts the agent's kong.conf entries.
func confEntries(in []agentproto.ConfEntry) []upgradepath.ConfEntry {
	out := make([]upgradepath.ConfEntry, 0, len(in))
	for _, e := range in {
		out = append(out, upgradepath.ConfEntry{Key: e.Key, Value: e.Value, Line: e.Line})
	}
	return out
}
