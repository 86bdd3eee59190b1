package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ---- migrations ----

func (a *Agent) migrations(ctx context.Context, run *opRun, p *agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	bin, err := a.kongBin(p.KongBin)
	if err != nil {
		return nil, err
	}
	// Kong's service environment, as the node's Kong serves with it.
	_, senv, _, envErr := a.effectiveConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix, Carried: p.KongEnv}, p.Conf)
	if envErr != nil {
		return nil, fmt.Errorf("kong migrations %s: the service's configuration: %w", p.Action, envErr)
	}
	env := senv.childEnv()
	res := &agentproto.MigrationsResult{Action: p.Action}
	out, err := a.kongMigrations(ctx, run, bin, p, p.Action, env)
	if err != nil {
		return nil, err
	}
	res.ExitCode = out.ExitCode
	stdout, stderr := string(out.Stdout), string(out.Stderr)
	switch p.Action {
	case agentproto.MigList:
		res.State, err = parseList(stdout, stderr, out.ExitCode)
		return res, err
	case agentproto.MigStatus:
		res.State, err = parseStatus(stdout, stderr, out.ExitCode)
		return res, err
	}
	ro, err := parseRun(p.Action, stdout, stderr, out.ExitCode)
	if err != nil {
		return res, err
	}
	res.Processed, res.ExecutedN, res.PendingN = ro.Processed, ro.Executed, ro.Pending
	res.AlreadyDone, res.NewAvailable = ro.AlreadyDone, ro.NewAvailable
	// Never trust exit 0 alone: re-check the state with list.
	lo, err := a.kongMigrations(ctx, run, bin, p, agentproto.MigList, env)
	if err != nil {
		return res, fmt.Errorf("re-check after %s: %w", p.Action, err)
	}
	res.State, err = parseList(string(lo.Stdout), string(lo.Stderr), lo.ExitCode)
	if err != nil {
		return res, fmt.Errorf("re-check after %s: %w", p.Action, err)
	}
	run.exitStatus = out.ExitCode
	switch {
	case res.State.NeedsBootstrap:
		return res, agentproto.Errorf(agentproto.CodeKongFailed, "after migrations %s the database needs bootstrap", p.Action)
	case p.Action == agentproto.MigUp && len(res.State.New) > 0:
		return res, agentproto.Errorf(agentproto.CodeKongFailed, "after migrations up, list still shows new migrations (exit %d)", res.State.ExitCode)
	case p.Action == agentproto.MigFinish && len(res.State.Pending) > 0:
		return res, agentproto.Errorf(agentproto.CodeKongFailed, "after migrations finish, list still shows pending migrations (exit %d)", res.State.ExitCode)
	}
	return res, nil
}

// kongMigrations runs one `kong migrations` command with svcEnv (the
// service's KONG_* variables) in its environment.
func (a *Agent) kongMigrations(ctx context.Context, run *opRun, bin string, p *agentproto.MigrationsParams, action string, svcEnv []string) (cmdResult, error) {
	args := []string{bin, "migrations", action}
	if p.Conf != "" {
		args = append(args, "-c", p.Conf)
	}
	if p.Prefix != "" {
		args = append(args, "-p", p.Prefix)
	}
	if action == agentproto.MigUp || action == agentproto.MigFinish {
		if p.Force {
			args = append(args, "-f")
		}
		if p.LockTimeout > 0 {
			args = append(args, "--lock-timeout", seconds(p.LockTimeout))
		}
	}
	if p.DBTimeout > 0 {
		args = append(args, "--db-timeout", seconds(p.DBTimeout))
	}
	env := append([]string(nil), svcEnv...)
	if p.PGPassword != "" {
		env = append(env, "KONG_PG_PASSWORD="+p.PGPassword)
	}
	return run.exec(ctx, cmdSpec{Args: args, Env: env})
}

func seconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}

// ---- service ----

type serviceTarget struct {
	manager, unit, bin, conf, prefix, version string
	adminURL, statusURL                       string
	ports                                     []string
	// adminToken goes in tokenHeader on the Admin API probe (RBAC).
	adminToken, tokenHeader string
	// env is the service's KONG_* environment, given to every kong
	// command; envErr says why it could not be read.
	env    []string
	envErr error
}

func (a *Agent) resolveService(ctx context.Context, run *opRun, p *agentproto.ServiceParams) (*serviceTarget, error) {
	t := &serviceTarget{manager: p.Manager, unit: p.Unit, conf: p.Conf, prefix: p.Prefix, version: p.Version}
	bin, err := a.kongBin(p.KongBin)
	if err != nil && t.manager != agentproto.ManagerSystemd {
		return nil, err
	}
	t.bin = bin
	conf, senv, cerr, envErr := a.effectiveConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix, Carried: p.KongEnv}, p.Conf)
	if cerr != nil {
		return nil, cerr
	}
	t.env, t.envErr = senv.childEnv(), envErr
	if t.conf == "" {
		t.conf = conf.path
	}
	if t.version == "" && t.bin != "" {
		if _, v, _, err := a.kongVersion(ctx, run, t.bin); err == nil {
			t.version = v
		}
	}
	cf := conf.facts(t.version)
	if t.prefix == "" {
		t.prefix = cf.Prefix
	}
	if t.manager == "" {
		t.manager = agentproto.ManagerKongCLI
		// A carried environment runs under the kong CLI (systemd would
		// not see it).
		if u := findUnit(""); u != "" && len(p.KongEnv) == 0 && a.systemdUsable(ctx, run) {
			t.manager, t.unit = agentproto.ManagerSystemd, u
		}
	}
	if t.manager == agentproto.ManagerSystemd && t.unit == "" {
		if t.unit = findUnit(""); t.unit == "" {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "no kong systemd unit found")
		}
	}
	t.adminURL, t.statusURL = p.AdminURL, p.StatusURL
	t.adminToken, t.tokenHeader = p.AdminToken, cf.RBACAuthHeader
	if t.adminURL == "" {
		if addr := plainHTTPAddr(cf.AdminListen); addr != "" {
			t.adminURL = "http://" + addr + "/"
		}
	}
	if t.statusURL == "" {
		if addr := plainHTTPAddr(cf.StatusListen); addr != "" {
			t.statusURL = "http://" + addr + "/status"
		}
	}
	t.ports = p.Ports
	if len(t.ports) == 0 {
		t.ports = append(allAddrs(cf.AdminListen), allAddrs(cf.StatusListen)...)
		t.ports = append(t.ports, allAddrs(cf.ProxyListen)...)
	}
	return t, nil
}

func (t *serviceTarget) pidFile() string { return filepath.Join(t.prefix, "pids", "nginx.pid") }

func (a *Agent) serviceStop(ctx context.Context, run *opRun, p *agentproto.ServiceParams) (res *agentproto.ServiceResult, err error) {
	t, err := a.resolveService(ctx, run, p)
	if err != nil {
		return nil, err
	}
	if len(p.KongEnv) > 0 {
		defer func() {
			if err == nil && res != nil && !res.Running {
				err = removeResolvedConf(t.prefix)
			}
		}()
	}
	grace := p.GraceTimeout
	if grace <= 0 {
		grace = 30 * time.Second
	}
	r := &agentproto.ServiceResult{Manager: t.manager}
	pid, alive := pidFromFile(t.pidFile())
	r.WasRunning = alive
	if t.manager == agentproto.ManagerSystemd {
		if res, err := run.exec(ctx, cmdSpec{Args: []string{"systemctl", "is-active", t.unit}}); err == nil && strings.TrimSpace(string(res.Stdout)) == "active" {
			r.WasRunning = true
		}
	}
	if !r.WasRunning {
		r.AlreadyDone = true
		r.OpenPorts = openPorts(t.ports)
		return r, nil
	}
	step := func(args ...string) (cmdResult, error) {
		r.Steps = append(r.Steps, strings.Join(args, " "))
		return run.exec(ctx, cmdSpec{Args: args, Env: t.env})
	}
	// Drain first where Kong has it (3.9+): /status/ready turns 503.
	if !p.NoDrain && t.bin != "" && versionAtLeast(t.version, 3, 9) {
		res, err := step(t.bin, "drain", "-p", t.prefix)
		r.Drained = err == nil && res.ExitCode == 0
	}
	if t.manager == agentproto.ManagerSystemd {
		sctx, cancel := context.WithTimeout(ctx, grace)
		r.Steps = append(r.Steps, "systemctl stop "+t.unit)
		_, err := run.exec(sctx, cmdSpec{Args: []string{"systemctl", "stop", t.unit}})
		cancel()
		if err != nil && ctx.Err() != nil {
			return r, err
		}
	} else if pid > 0 {
		// What `kong quit -t <grace>` does (QUIT to the nginx master, TERM
		// after the timeout; kong-reference 3.1), watched every 20 ms
		// rather than quit's 0.2 s: the last node's stop gates the
		// migrations, on the critical path of the downtime.
		r.Steps = append(r.Steps, fmt.Sprintf("kill -QUIT %d", pid))
		if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil && !errors.Is(err, syscall.ESRCH) {
			return r, agentproto.Errorf(agentproto.CodeKongFailed, "send QUIT to kong (pid %d): %v", pid, err)
		}
		if !waitFor(ctx, grace, func() bool { return !pidAlive(pid) }) {
			r.Forced = true
			r.Steps = append(r.Steps, fmt.Sprintf("kill -TERM %d", pid))
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	// Verify the process is gone; force it after a short wait.
	if pid > 0 && !waitFor(ctx, 5*time.Second, func() bool { return !pidAlive(pid) }) {
		r.Forced = true
		r.Steps = append(r.Steps, fmt.Sprintf("kill -KILL %d", pid))
		if t.manager == agentproto.ManagerSystemd {
			_, _ = step("systemctl", "kill", "--signal=SIGKILL", t.unit)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !waitFor(ctx, 5*time.Second, func() bool { return !pidAlive(pid) }) {
			return r, agentproto.Errorf(agentproto.CodeKongFailed, "kong (pid %d) still running after stop and SIGKILL", pid)
		}
	}
	waitFor(ctx, 10*time.Second, func() bool { return len(openPorts(t.ports)) == 0 })
	r.OpenPorts = openPorts(t.ports)
	r.PID, r.Running = pidFromFile(t.pidFile())
	if len(r.OpenPorts) > 0 {
		return r, agentproto.Errorf(agentproto.CodeKongFailed, "kong stopped but ports still open: %s", strings.Join(r.OpenPorts, ", "))
	}
	return r, nil
}

func (a *Agent) serviceStart(ctx context.Context, run *opRun, p *agentproto.ServiceParams) (*agentproto.ServiceResult, error) {
	t, err := a.resolveService(ctx, run, p)
	if err != nil {
		return nil, err
	}
	wait := p.StartTimeout
	if wait <= 0 {
		wait = 60 * time.Second
	}
	r := &agentproto.ServiceResult{Manager: t.manager}
	_, r.WasRunning = pidFromFile(t.pidFile())
	hp := &agentproto.HealthParams{KongBin: t.bin, Prefix: t.prefix, AdminURL: t.adminURL, StatusURL: t.statusURL, AdminToken: t.adminToken}
	if r.WasRunning {
		h := a.probe(ctx, run, hp, t)
		if h.Healthy {
			r.AlreadyDone, r.Running, r.Health = true, true, h
			r.PID, _ = pidFromFile(t.pidFile())
			return r, nil
		}
	}
	var res cmdResult
	if t.manager == agentproto.ManagerSystemd {
		r.Steps = append(r.Steps, "systemctl start "+t.unit)
		res, err = run.exec(ctx, cmdSpec{Args: []string{"systemctl", "start", t.unit}})
	} else if !r.WasRunning {
		if t.envErr != nil {
			return r, fmt.Errorf("kong start: the service's configuration: %w", t.envErr)
		}
		args := []string{t.bin, "start"}
		if t.conf != "" {
			args = append(args, "-c", t.conf)
		}
		if p.Prefix != "" {
			args = append(args, "-p", p.Prefix)
		}
		r.Steps = append(r.Steps, strings.Join(args, " "))
		res, err = run.exec(ctx, cmdSpec{Args: args, Env: t.env})
	}
	if err != nil {
		return r, err
	}
	if res.ExitCode != 0 {
		// `kong start` connects to the database before nginx starts:
		// that failure is the database's (a controller may wait for it),
		// not Kong's. systemctl's own message does not tell.
		code := agentproto.CodeKongFailed
		if strings.Contains(string(res.Stderr), msgDBUnreachable) {
			code = agentproto.CodeDBUnreachable
		}
		return r, agentproto.Errorf(code, "%s exited %d: %s", r.Steps[len(r.Steps)-1], res.ExitCode, firstErrorLine(string(res.Stderr)))
	}
	var h *agentproto.HealthResult
	ok := waitFor(ctx, wait, func() bool {
		h = a.probe(ctx, run, hp, t)
		return h.Healthy
	})
	r.Health = h
	r.PID, r.Running = pidFromFile(t.pidFile())
	if !ok {
		return r, agentproto.Errorf(agentproto.CodeUnhealthy, "kong started but not healthy after %s: %s", wait, describeHealth(h))
	}
	return r, nil
}

func firstErrorLine(s string) string {
	for _, l := range splitLines(s) {
		if strings.HasPrefix(l, "Error: ") {
			return strings.TrimPrefix(l, "Error: ")
		}
	}
	return strings.TrimSpace(clip(s, 512))
}

func describeHealth(h *agentproto.HealthResult) string {
	if h == nil {
		return "not probed"
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("kong health ok=%v", h.CLI))
	for _, pr := range []*agentproto.HTTPProbe{h.Admin, h.Status} {
		if pr == nil {
			continue
		}
		if pr.Err != "" {
			parts = append(parts, pr.URL+": "+pr.Err)
		} else {
			parts = append(parts, fmt.Sprintf("%s: HTTP %d", pr.URL, pr.Status))
		}
	}
	return strings.Join(parts, "; ")
}

func (a *Agent) health(ctx context.Context, run *opRun, p *agentproto.HealthParams) (*agentproto.HealthResult, error) {
	t, err := a.resolveService(ctx, run, &agentproto.ServiceParams{KongBin: p.KongBin, Conf: p.Conf, Prefix: p.Prefix, AdminURL: p.AdminURL, StatusURL: p.StatusURL, Manager: cmp.Or(p.Manager, agentproto.ManagerKongCLI), Unit: p.Unit, EnvFile: p.EnvFile, AdminToken: p.AdminToken, KongEnv: p.KongEnv})
	if err != nil {
		return nil, err
	}
	h := a.probe(ctx, run, p, t)
	if !h.Healthy {
		return h, agentproto.Errorf(agentproto.CodeUnhealthy, "%s", describeHealth(h))
	}
	return h, nil
}

// probe runs `kong health` and GETs the admin and status URLs. Where the
// node has a Status API, it alone decides health (it is never
// RBAC-checked, kong-reference 9.1); the Admin API's GET / (with the
// token, when given) still reads the version. Without a Status API the
// Admin API's answer decides.
func (a *Agent) probe(ctx context.Context, run *opRun, p *agentproto.HealthParams, t *serviceTarget) *agentproto.HealthResult {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	h := &agentproto.HealthResult{}
	if t.bin != "" {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		res, err := run.exec(pctx, cmdSpec{Args: []string{t.bin, "health", "-p", t.prefix}, Env: t.env})
		cancel()
		h.CLI = err == nil && res.ExitCode == 0
		h.CLIOut = strings.TrimSpace(clip(string(res.Stdout)+string(res.Stderr), 512))
	}
	admin, status := p.AdminURL, p.StatusURL
	if admin == "" {
		admin = t.adminURL
	}
	if status == "" {
		status = t.statusURL
	}
	if admin != "" {
		var root struct {
			Version string `json:"version"`
			Edition string `json:"edition"`
			NodeID  string `json:"node_id"`
		}
		h.Admin = httpProbe(ctx, timeout, admin, &root, cmp.Or(t.tokenHeader, agentproto.DefaultTokenHeader), cmp.Or(p.AdminToken, t.adminToken))
		h.Version, h.Edition, h.NodeID = root.Version, root.Edition, root.NodeID
	}
	if status != "" {
		h.Status = httpProbe(ctx, timeout, status, nil, "", "")
	}
	served := ok2xx(h.Admin)
	if h.Status != nil {
		served = ok2xx(h.Status)
	}
	h.Healthy = (t.bin == "" || h.CLI) && served
	return h
}

func ok2xx(p *agentproto.HTTPProbe) bool {
	return p == nil || p.Err == "" && p.Status >= 200 && p.Status < 300
}

// httpProbe GETs url within timeout, the certificate checked (system
// roots); a non-empty token goes in the header named header.
func httpProbe(ctx context.Context, timeout time.Duration, url string, into any, header, token string) *agentproto.HTTPProbe {
	pr := &agentproto.HTTPProbe{URL: url}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := httpRequest{Method: "GET", URL: url, Verify: true}
	if token != "" {
		req.Header = [][2]string{{header, token}}
	}
	resp, err := httpDo(ctx, req)
	if err != nil {
		pr.Err = err.Error()
		return pr
	}
	defer resp.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	pr.Status = resp.Status
	pr.Body = clip(string(body), 1024)
	if into != nil {
		_ = json.Unmarshal(body, into)
	}
	return pr
}

// openPorts returns the addresses that accept a TCP connection.
func openPorts(addrs []string) []string {
	var open []string
	for _, addr := range addrs {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			c.Close()
			open = append(open, addr)
		}
	}
	return open
}

// waitFor polls cond until it holds or d passes: every 20 ms at first
// (a stop or start ends the downtime's steps), backing off to 200 ms.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	pause := 20 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(pause*3/2, 200*time.Millisecond)
	}
}
