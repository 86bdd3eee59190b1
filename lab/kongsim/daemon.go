package kongsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// nginxMain is the package's /usr/local/openresty/nginx/sbin/nginx:
// `nginx -p <prefix> [-c nginx.conf]` runs the daemon (in the foreground
// when nginx_daemon is off, as under systemd), `nginx -p <prefix> -s
// reload|stop|quit|reopen` signals it.
func (a *app) nginxMain(ctx context.Context, args []string) int {
	prefix, signalName := "/usr/local/kong", ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-p":
			if i+1 < len(args) {
				prefix = strings.TrimRight(args[i+1], "/")
				i++
			}
		case "-c", "-g":
			i++
		case "-s":
			if i+1 < len(args) {
				signalName = args[i+1]
				i++
			}
		case "-v", "-V":
			fmt.Fprintln(a.stdio.Stderr, "nginx version: openresty/1.21.4.1 (kong simulator "+a.rel.Version+")")
			return 0
		}
	}
	if prefix == "" {
		prefix = "/"
	}
	if signalName != "" {
		sig := map[string]syscall.Signal{"reload": syscall.SIGHUP, "stop": syscall.SIGTERM, "quit": syscall.SIGQUIT, "reopen": syscall.SIGUSR1}[signalName]
		if sig == 0 {
			fmt.Fprintf(a.stdio.Stderr, "nginx: invalid option: \"-s %s\"\n", signalName)
			return 1
		}
		pid, ok := readPid(prefix)
		if !ok {
			fmt.Fprintf(a.stdio.Stderr, "nginx: [error] invalid PID number \"\" in \"%s\"\n", pidFile(prefix))
			return 1
		}
		if err := syscall.Kill(pid, sig); err != nil {
			fmt.Fprintf(a.stdio.Stderr, "nginx: [alert] kill(%d, %d) failed (%v)\n", pid, sig, err)
			return 1
		}
		return 0
	}
	conf, err := ReadKongEnv(kongEnvFile(prefix))
	if err != nil {
		fmt.Fprintf(a.stdio.Stderr, "nginx: [emerg] open() \"%s\" failed (2: No such file or directory)\n", filepath.Join(prefix, "nginx.conf"))
		return 1
	}
	conf.Values["prefix"] = prefix
	readyFD := lookupEnv(a.env, readyFDEnv)
	daemonOff := !conf.Bool("nginx_daemon") || strings.EqualFold(lookupEnv(a.env, "KONG_NGINX_DAEMON"), "off")
	if readyFD == "" && !daemonOff {
		if err := a.spawnDaemon(ctx, prefix); err != nil {
			var ee *exitErr
			if errors.As(err, &ee) {
				fmt.Fprintln(a.stdio.Stderr, ee.msg)
			}
			return 1
		}
		return 0
	}
	var ready io.WriteCloser
	if readyFD != "" {
		n, _ := strconv.Atoi(readyFD)
		ready = os.NewFile(uintptr(n), "ready")
	}
	d := &daemon{app: a, conf: conf, prefix: prefix}
	if err := d.run(ctx, ready); err != nil {
		msg := err.Error()
		appendLog(prefix, "emerg", msg)
		fmt.Fprintln(a.stdio.Stderr, msg)
		if ready != nil {
			fmt.Fprintln(ready, strings.ReplaceAll(msg, "\n", `\n`))
			ready.Close()
		}
		return 1
	}
	return 0
}

// daemon is the stub Kong node: proxy, admin, status and cluster listeners.
type daemon struct {
	app    *app
	conf   *Config
	prefix string
	faults Faults
	pool   *connPool

	nodeID   string
	hostname string
	started  time.Time

	mu       sync.RWMutex
	cfg      *KongConfig
	cfgHash  string
	router   *Router
	loadErr  string
	draining bool

	dbReachable atomic.Bool
	cpConnected atomic.Bool

	accepted, active, writing, totalReq atomic.Int64

	cmu     sync.Mutex
	counts  map[[3]string]int64        // service, route, code (+source in key[2] suffix)
	latency map[[2]string]*latencyHist // service, route: request latency (latency.go)
	logMu   sync.Mutex
	errLog  *os.File
	accLog  *os.File
	admLog  *os.File
	servers []*http.Server
	role    string
	hybrid  *cpState
	kr      *keyring // Enterprise keyring (keyring.go), nil when off
}

func (d *daemon) logf(level, format string, args ...any) {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	if d.errLog != nil {
		fmt.Fprintf(d.errLog, "%s [%s] %d#0: %s\n", time.Now().Format("2006/01/02 15:04:05"), level, os.Getpid(), fmt.Sprintf(format, args...))
	}
}

func (d *daemon) openLogs() {
	open := func(name string) *os.File {
		f, _ := os.OpenFile(filepath.Join(d.prefix, "logs", name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		return f
	}
	d.logMu.Lock()
	for _, f := range []*os.File{d.errLog, d.accLog, d.admLog} {
		if f != nil {
			f.Close()
		}
	}
	d.errLog, d.accLog, d.admLog = open("error.log"), open("access.log"), open("admin_access.log")
	d.logMu.Unlock()
}

func (d *daemon) nodeIDFile() string { return filepath.Join(d.prefix, "kong.id") }

func (d *daemon) run(ctx context.Context, ready io.WriteCloser) error {
	d.started = time.Now()
	d.role = d.conf.Get("role")
	d.faults = loadFaults(d.prefix, d.app.env)
	d.counts = map[[3]string]int64{}
	_ = os.MkdirAll(filepath.Join(d.prefix, "logs"), 0o755)
	_ = os.MkdirAll(filepath.Join(d.prefix, "pids"), 0o755)
	d.openLogs()
	d.hostname, _ = os.Hostname()
	if b, err := os.ReadFile(d.nodeIDFile()); err == nil && isUUID(strings.TrimSpace(string(b))) {
		d.nodeID = strings.TrimSpace(string(b))
	} else {
		d.nodeID = randomID()
		_ = os.WriteFile(d.nodeIDFile(), []byte(d.nodeID+"\n"), 0o644)
	}
	if pid, ok := readPid(d.prefix); ok && pid != os.Getpid() {
		return fmt.Errorf("nginx: [emerg] Kong is already running in %s (pid %d)", d.prefix, pid)
	}
	if err := d.initData(ctx); err != nil {
		return err
	}
	if msg := d.app.rel.uninstalledPlugin(d.conf.Get("plugins"), d.conf.Get("lua_package_path")); msg != "" {
		return fmt.Errorf("nginx: [error] init_by_lua error: /usr/local/share/lua/5.1/kong/init.lua:718: %s", msg)
	}
	if err := d.startKeyring(ctx); err != nil {
		return err
	}
	// Listeners.
	type srv struct {
		key     string
		handler http.Handler
	}
	var want []srv
	if d.role != "control_plane" {
		want = append(want, srv{"proxy_listen", http.HandlerFunc(d.serveProxy)})
	}
	if d.role != "data_plane" {
		want = append(want, srv{"admin_listen", d.adminHandler()})
	}
	want = append(want, srv{"status_listen", d.statusHandler()})
	if d.role == "control_plane" {
		want = append(want, srv{"cluster_listen", d.clusterHandler()})
	}
	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	var hs []*http.Server
	for _, w := range want {
		ls, err := ParseListen(w.key, d.conf.Get(w.key))
		if err != nil {
			closeAll()
			return fmt.Errorf("nginx: [emerg] %s", err)
		}
		for _, addr := range PlainListeners(ls) {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				closeAll()
				code, text := 98, "Address already in use"
				if errors.Is(err, syscall.EADDRNOTAVAIL) {
					code, text = 99, "Cannot assign requested address"
				} else if errors.Is(err, syscall.EACCES) {
					code, text = 13, "Permission denied"
				}
				return fmt.Errorf("nginx: [emerg] bind() to %s failed (%d: %s)", addr, code, text)
			}
			lns = append(lns, l)
			h := &http.Server{Handler: w.handler, ReadHeaderTimeout: 10 * time.Second, ConnState: d.connState}
			hs = append(hs, h)
			go func() { _ = h.Serve(l) }()
		}
	}
	d.servers = hs
	if err := os.WriteFile(pidFile(d.prefix), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		closeAll()
		return fmt.Errorf("nginx: [emerg] open() \"%s\" failed: %v", pidFile(d.prefix), err)
	}
	defer os.Remove(pidFile(d.prefix))
	d.logf("notice", "kong simulator %s started (role %s, node %s)", d.app.rel, d.role, d.nodeID)
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	go d.refreshLoop(loopCtx)
	go d.keyringLoop(loopCtx)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-ctx.Done():
			sig = syscall.SIGTERM
		}
		switch sig {
		case syscall.SIGHUP:
			d.reload()
		case syscall.SIGUSR1:
			d.openLogs()
		case syscall.SIGQUIT:
			if d.faults.SlowStop > 0 {
				d.logf("notice", "FAKE_KONG_SLOW_STOP: ignoring QUIT for %s", d.faults.SlowStop)
				time.Sleep(d.faults.SlowStop)
			}
			d.logf("notice", "gracefully shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			for _, h := range hs {
				_ = h.Shutdown(sctx)
			}
			cancel()
			d.logf("notice", "exit")
			return nil
		default:
			d.logf("notice", "signal %v received, exiting", sig)
			for _, h := range hs {
				_ = h.Close()
			}
			return nil
		}
	}
}

// initData loads what the node serves first: the database (checking the
// schema like nginx init) or, for a data plane, the cached configuration.
func (d *daemon) initData(ctx context.Context) error {
	if d.conf.DBOff() {
		d.dbReachable.Store(false)
		if b, err := os.ReadFile(filepath.Join(d.prefix, "config.cache")); err == nil {
			var k KongConfig
			if json.Unmarshal(b, &k) == nil {
				d.setConfig(&k)
				d.logf("notice", "loaded configuration %s from config.cache", d.cfgHash)
			}
		}
		return nil
	}
	pool, err := newPool(d.conf, 6)
	if err != nil {
		return fmt.Errorf("nginx: [error] init_by_lua error: %s", err)
	}
	d.pool = pool
	cat := d.app.rel.Catalogue(d.conf.Get("plugins"))
	var st State
	err = pool.with(ctx, func(c *pgx.Conn) error {
		var err error
		st, err = loadState(ctx, c, d.conf.Schema(), cat)
		return err
	})
	if err != nil {
		return fmt.Errorf("nginx: [error] init_by_lua error: /usr/local/share/lua/5.1/kong/init.lua:553: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: %s", strings.TrimPrefix(pgErrText(err), "[PostgreSQL error] "))
	}
	if st.NeedsBootstrap {
		return fmt.Errorf("nginx: [error] init_by_lua error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:17: %s", strings.TrimSpace(NeedsBootstrapMsg))
	}
	if len(st.New) > 0 {
		return fmt.Errorf("nginx: [error] init_by_lua error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:20: New migrations available; run 'kong migrations up' to proceed")
	}
	if len(st.Pending) > 0 {
		d.logf("warn", "database has pending migrations:\n%s", FormatSections(st.Pending))
		d.logf("info", "starting with pending migrations: %s", FormatSections(st.Pending))
	}
	d.dbReachable.Store(true)
	d.refreshFromDB(ctx)
	if d.role == "control_plane" {
		d.hybrid = &cpState{}
	}
	return nil
}

func (d *daemon) setConfig(k *KongConfig) {
	r := NewRouter(d.app.rel, k)
	d.mu.Lock()
	d.cfg, d.cfgHash, d.router = k, k.Hash(), r
	d.mu.Unlock()
}

func (d *daemon) snapshot() (*KongConfig, string, *Router) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg, d.cfgHash, d.router
}

// loadTimeout bounds one configuration load: 5 s on a lab's database,
// plus 100 µs per plugin row the planner counts (pg_class.reltuples), up
// to a minute: every plugin row is loaded, and on a production-sized
// database (make lab-up ROWS=200000) that takes seconds. A database that
// does not answer fails the row count within the 5 s.
func loadTimeout(pluginRows int64) time.Duration {
	return min(5*time.Second+time.Duration(max(pluginRows, 0))*100*time.Microsecond, time.Minute)
}

func (d *daemon) refreshFromDB(ctx context.Context) {
	var k *KongConfig
	cctx, cancel := context.WithTimeout(ctx, loadTimeout(0))
	defer cancel()
	err := d.pool.with(cctx, func(c *pgx.Conn) error {
		var rows int64
		if err := c.QueryRow(cctx, `SELECT coalesce(max(reltuples), 0)::bigint FROM pg_class WHERE relname = 'plugins' AND relkind = 'r'`).Scan(&rows); err != nil {
			return err
		}
		lctx, cancel := context.WithTimeout(ctx, loadTimeout(rows))
		defer cancel()
		var err error
		k, err = d.app.rel.loadSnapshot(lctx, c)
		return err
	})
	if err != nil {
		if !isPgError(err) {
			d.dbReachable.Store(false)
		}
		msg := pgErrText(err)
		d.mu.Lock()
		changed := d.loadErr != msg
		d.loadErr = msg
		d.mu.Unlock()
		if changed {
			d.logf("error", "failed rebuilding router: [PostgreSQL error] %s (keeping the previous router)", msg)
		}
		return
	}
	d.dbReachable.Store(true)
	d.mu.Lock()
	d.loadErr = ""
	d.mu.Unlock()
	_, old, _ := d.snapshot()
	if old != k.Hash() {
		d.setConfig(k)
	}
}

// refreshLoop polls the control plane (a data plane, see pingLoop) and
// rebuilds the router from the database every db_update_frequency seconds
// (Kong's workers poll for changes that often; default 5). The node's own
// Admin API writes rebuild it at once.
func (d *daemon) refreshLoop(ctx context.Context) {
	if d.role == "data_plane" {
		go d.pingLoop(ctx)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	every := d.updateFrequency()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.pool != nil && time.Since(last) >= every {
			d.refreshFromDB(ctx)
			last = time.Now()
		}
	}
}

// pingLoop syncs a data plane with its control plane every second, or
// every FAKE_KONG_CLUSTER_PING (a lab-only knob: Kong's own ping is every
// 30 s, CLUSTERING_PING_INTERVAL); each sync is a heartbeat the control
// plane writes into clustering_data_planes.
func (d *daemon) pingLoop(ctx context.Context) {
	for {
		d.pollControlPlane(ctx)
		every := d.faults.ClusterPing
		if every <= 0 {
			every = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// updateFrequency is kong.conf's db_update_frequency (seconds), at least 1s.
func (d *daemon) updateFrequency() time.Duration {
	d.mu.RLock()
	v := d.conf.Get("db_update_frequency")
	d.mu.RUnlock()
	sec, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || sec < 1 {
		sec = 5
		if err == nil {
			sec = 1
		}
	}
	return time.Duration(sec * float64(time.Second))
}

func (d *daemon) reload() {
	c, err := ReadKongEnv(kongEnvFile(d.prefix))
	if err != nil {
		d.logf("error", "reload: %v", err)
		return
	}
	c.Values["prefix"] = d.prefix
	d.mu.Lock()
	d.conf = c
	d.mu.Unlock()
	d.faults = loadFaults(d.prefix, d.app.env)
	d.openLogs()
	if d.pool != nil {
		d.refreshFromDB(context.Background())
	}
	d.logf("notice", "reconfiguring")
}

func (d *daemon) connState(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		d.accepted.Add(1)
		d.active.Add(1)
	case http.StateClosed, http.StateHijacked:
		d.active.Add(-1)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
}

func (d *daemon) count(service, route, code, source string) {
	d.cmu.Lock()
	d.counts[[3]string{service, route, code + "|" + source}]++
	d.cmu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) {
	if s.code == 0 {
		s.code = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = 200
	}
	return s.ResponseWriter.Write(b)
}

func (d *daemon) accessLog(f func() *os.File, r *http.Request, code int, start time.Time) {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	if lf := f(); lf != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(lf, "%s - - [%s] \"%s %s %s\" %d 0 \"-\" \"%s\" %.3f\n", host, start.Format("02/Jan/2006:15:04:05 -0700"),
			r.Method, r.URL.RequestURI(), r.Proto, code, r.UserAgent(), time.Since(start).Seconds())
	}
}

func (d *daemon) serverHeader() string { return "kong/" + d.app.rel.Version }

// serveProxy routes a request to its service. Services whose host ends in
// .internal (e.g. http://echo.internal/) are answered by the node itself
// with a JSON echo of the request; others are proxied for real.
func (d *daemon) serveProxy(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d.totalReq.Add(1)
	d.writing.Add(1)
	defer d.writing.Add(-1)
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	svcName, routeName, source := "", "", "kong"
	if delay := d.faults.ProxyDelay; delay > 0 {
		time.Sleep(delay)
	}
	defer func() {
		d.count(svcName, routeName, strconv.Itoa(rec.code), source)
		if routeName != "" {
			d.observeLatency(svcName, routeName, time.Since(start))
		}
		d.accessLog(func() *os.File { return d.accLog }, r, rec.code, start)
	}()
	w.Header().Set("Server", d.serverHeader())
	if d.faults.Start5xx {
		writeJSON(w, 500, map[string]string{"message": "An unexpected error occurred"})
		return
	}
	_, _, router := d.snapshot()
	if router == nil {
		if d.role == "data_plane" {
			writeJSON(w, 503, map[string]string{"message": "no Route matched with those values"})
			return
		}
		writeJSON(w, 404, map[string]string{"message": "no Route matched with those values"})
		return
	}
	m, ok := router.Route(r)
	if !ok {
		writeJSON(w, 404, map[string]string{"message": "no Route matched with those values"})
		return
	}
	routeName = deref(m.Route.Name)
	if routeName == "" {
		routeName = m.Route.ID
	}
	if m.Service != nil {
		svcName = deref(m.Service.Name)
		if svcName == "" {
			svcName = m.Service.ID
		}
	}
	for _, p := range m.Plugins {
		if p.Name == "request-termination" {
			code := 503
			if v, ok := p.Config["status_code"].(float64); ok {
				code = int(v)
			}
			msg, _ := p.Config["message"].(string)
			if msg == "" {
				msg = "Service unavailable"
			}
			writeJSON(w, code, map[string]string{"message": msg})
			return
		}
	}
	if m.Service == nil {
		writeJSON(w, 503, map[string]string{"message": "no Service found with those values"})
		return
	}
	w.Header().Set("Via", "kong/"+d.app.rel.Version)
	w.Header().Set("X-Kong-Proxy-Latency", "0")
	source = "service"
	up := upstreamPath(m, r.URL.Path)
	if strings.HasSuffix(m.Service.Host, ".internal") || m.Service.Host == "echo" {
		w.Header().Set("X-Kong-Upstream-Latency", "0")
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		hdr := map[string]string{}
		for k := range r.Header {
			hdr[strings.ToLower(k)] = r.Header.Get(k)
		}
		writeJSON(w, 200, map[string]any{
			"echo": true, "method": r.Method, "path": up, "request_path": r.URL.Path, "query": r.URL.RawQuery,
			"host": r.Host, "headers": hdr, "body": string(body),
			"service": map[string]string{"id": m.Service.ID, "name": deref(m.Service.Name)},
			"route":   map[string]string{"id": m.Route.ID, "name": deref(m.Route.Name)},
			"node_id": d.nodeID, "hostname": d.hostname, "kong_version": d.app.rel.Version,
		})
		return
	}
	target := &url.URL{Scheme: m.Service.Protocol, Host: net.JoinHostPort(m.Service.Host, strconv.Itoa(m.Service.Port))}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = up, ""
			if !m.Route.PreserveHost {
				pr.Out.Host = target.Host
			}
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				// The client went away first: nginx logs 499 (and Kong's
				// metrics count it), not an upstream error.
				w.WriteHeader(499)
				return
			}
			d.logf("error", "upstream %s: %v", target.Host, err)
			writeJSON(w, 502, map[string]string{"message": "An invalid response was received from the upstream server"})
		},
	}
	proxy.ServeHTTP(w, r)
}

// readiness is GET /status/ready's answer (kong/status/ready.lua, 3.3+;
// kong-reference 4.3): 503 while draining; a data plane without a
// configuration; a node that cannot reach its database; then, as Kong's
// workers report none yet, a node whose router was never built (a
// production-sized database under load can take longer than a load is
// allowed: Kong answers "router builds not yet complete" meanwhile, and
// its proxy has no route); else 200.
func readiness(draining, dataPlane, dbOK, hasConfig, routerBuilt bool) (int, string) {
	switch {
	case draining:
		return 503, "draining"
	case dataPlane && !hasConfig:
		return 503, "no configuration available (empty configuration present)"
	case !dataPlane && !dbOK:
		return 503, "failed to connect to database"
	case !routerBuilt:
		return 503, "router builds not yet complete"
	}
	return 200, "ready"
}

func (d *daemon) pingDB() bool {
	if d.pool == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := d.pool.with(ctx, func(c *pgx.Conn) error { return c.Ping(ctx) })
	d.dbReachable.Store(err == nil)
	return err == nil
}

func (d *daemon) statusBody(r *http.Request) map[string]any {
	active := max(d.active.Load(), 0)
	writing := d.writing.Load()
	acc := d.accepted.Load()
	unit := r.URL.Query().Get("unit")
	mem := func(mb float64) any {
		if unit == "" {
			return int64(mb * 1024 * 1024)
		}
		return fmt.Sprintf("%.2f MiB", mb)
	}
	body := map[string]any{
		"memory": map[string]any{
			"lua_shared_dicts": map[string]any{
				"kong":          map[string]any{"allocated_slabs": mem(0.04), "capacity": mem(5)},
				"kong_db_cache": map[string]any{"allocated_slabs": mem(0.80), "capacity": mem(128)},
			},
			"workers_lua_vms": []any{map[string]any{"http_allocated_gc": mem(49.17), "pid": os.Getpid()}},
		},
		"server": map[string]any{
			"connections_accepted": acc, "connections_handled": acc, "connections_active": active,
			"connections_reading": 0, "connections_writing": writing, "connections_waiting": max(active-writing, 0),
			"total_requests": d.totalReq.Load(),
		},
	}
	if d.conf.DBOff() {
		_, h, _ := d.snapshot()
		if h == "" {
			h = "00000000000000000000000000000000"
		}
		body["configuration_hash"] = h
	} else {
		body["database"] = map[string]any{"reachable": d.pingDB()}
	}
	return body
}

func (d *daemon) statusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, d.statusBody(r))
	})
	mux.HandleFunc("GET /metrics", d.serveMetrics)
	if d.app.rel.AtLeast(3, 3) {
		mux.HandleFunc("GET /status/ready", func(w http.ResponseWriter, r *http.Request) {
			_, err := os.Stat(drainFile(d.prefix))
			_, h, router := d.snapshot()
			dp := d.role == "data_plane"
			code, msg := readiness(err == nil, dp, dp || d.pingDB(), h != "", router != nil)
			writeJSON(w, code, map[string]string{"message": msg})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]string{"message": "Not found"})
	})
	return d.withServer(mux)
}

func (d *daemon) withServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.totalReq.Add(1)
		w.Header().Set("Server", d.serverHeader())
		w.Header().Set("X-Kong-Admin-Latency", "0")
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		d.accessLog(func() *os.File { return d.admLog }, r, rec.code, start)
	})
}

func (d *daemon) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	rel := d.app.rel
	node := d.nodeID
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	reach := 0
	if !d.conf.DBOff() && d.pingDB() {
		reach = 1
	}
	gauge("kong_datastore_reachable", "Datastore reachable from Kong, 0 is unreachable")
	fmt.Fprintf(&b, "kong_datastore_reachable %d\n", reach)
	active := max(d.active.Load(), 0)
	writing := d.writing.Load()
	acc := d.accepted.Load()
	states := []struct {
		s string
		v int64
	}{{"accepted", acc}, {"active", active}, {"handled", acc}, {"reading", 0}, {"total", d.totalReq.Load()}, {"waiting", max(active-writing, 0)}, {"writing", writing}}
	d.cmu.Lock()
	keys := make([][3]string, 0, len(d.counts))
	for k := range d.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return strings.Join(keys[i][:], "\x00") < strings.Join(keys[j][:], "\x00")
	})
	counts := map[[3]string]int64{}
	for _, k := range keys {
		counts[k] = d.counts[k]
	}
	d.cmu.Unlock()
	if rel.AtLeast(3, 0) {
		gauge("kong_node_info", "Kong Node metadata information")
		fmt.Fprintf(&b, "kong_node_info{node_id=%q,version=%q} 1\n", node, rel.Version)
		gauge("kong_nginx_connections_total", "Number of connections by subsystem")
		for _, s := range states {
			fmt.Fprintf(&b, "kong_nginx_connections_total{node_id=%q,subsystem=\"http\",state=%q} %d\n", node, s.s, s.v)
		}
		gauge("kong_nginx_requests_total", "Number of requests total")
		fmt.Fprintf(&b, "kong_nginx_requests_total{node_id=%q,subsystem=\"http\"} %d\n", node, d.totalReq.Load())
		gauge("kong_nginx_timers", "Number of nginx timers")
		fmt.Fprintf(&b, "kong_nginx_timers{state=\"running\"} 4\nkong_nginx_timers{state=\"pending\"} 1\n")
		fmt.Fprintf(&b, "# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong\n# TYPE kong_http_requests_total counter\n")
		for _, k := range keys {
			code, source, _ := strings.Cut(k[2], "|")
			fmt.Fprintf(&b, "kong_http_requests_total{service=%q,route=%q,code=%q,source=%q,workspace=\"default\",consumer=\"\"} %d\n", k[0], k[1], code, source, counts[k])
		}
		d.writeLatency(&b)
		if d.role == "data_plane" {
			c := 0
			if d.cpConnected.Load() {
				c = 1
			}
			gauge("kong_control_plane_connected", "Kong connected to control plane, 0 is unconnected")
			fmt.Fprintf(&b, "kong_control_plane_connected %d\n", c)
		}
		if d.role == "control_plane" {
			d.cpMetrics(&b)
		}
	} else {
		gauge("kong_nginx_http_current_connections", "Number of HTTP connections")
		for _, s := range states {
			fmt.Fprintf(&b, "kong_nginx_http_current_connections{state=%q} %d\n", s.s, s.v)
		}
		gauge("kong_nginx_timers", "Number of nginx timers")
		fmt.Fprintf(&b, "kong_nginx_timers{state=\"running\"} 4\nkong_nginx_timers{state=\"pending\"} 1\n")
		fmt.Fprintf(&b, "# HELP kong_http_status HTTP status codes per service/route in Kong\n# TYPE kong_http_status counter\n")
		for _, k := range keys {
			code, _, _ := strings.Cut(k[2], "|")
			fmt.Fprintf(&b, "kong_http_status{service=%q,route=%q,code=%q} %d\n", k[0], k[1], code, counts[k])
		}
		d.writeLatency(&b)
	}
	gauge("kong_memory_lua_shared_dict_bytes", "Allocated slabs in bytes in a shared_dict")
	fmt.Fprintf(&b, "kong_memory_lua_shared_dict_bytes{node_id=%q,shared_dict=\"kong\",kong_subsystem=\"http\"} 40960\n", node)
	gauge("kong_memory_lua_shared_dict_total_bytes", "Total capacity in bytes of a shared_dict")
	fmt.Fprintf(&b, "kong_memory_lua_shared_dict_total_bytes{node_id=%q,shared_dict=\"kong\",kong_subsystem=\"http\"} 5242880\n", node)
	gauge("kong_memory_workers_lua_vms_bytes", "Allocated bytes in worker Lua VM")
	fmt.Fprintf(&b, "kong_memory_workers_lua_vms_bytes{node_id=%q,pid=\"%d\",kong_subsystem=\"http\"} 51556352\n", node, os.Getpid())
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	io.WriteString(w, b.String())
}
