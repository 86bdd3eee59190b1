package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/lab/labenv"
)

// Runner runs cells on a lab that is up.
type Runner struct {
	Lab *labenv.Lab
	// Kongctl is the kongctl binary to drive (bin/kongctl).
	Kongctl string
	// Dir receives one folder per cell (events, stderr, journals).
	Dir string
	// Soak is the verify soak written into the cell inventory ("3s").
	Soak string
	// Log receives progress lines (default os.Stderr).
	Log io.Writer
	// CommandTimeout bounds one kongctl command (default 5m).
	CommandTimeout time.Duration
	// Topology is the lab's ("" = the default lab).
	Topology Topology

	baseline string // fingerprint of the lab on X
}

// Result is one cell's entry in build/faults/matrix.json.
type Result struct {
	Phase   Phase   `json:"phase"`
	Fault   Fault   `json:"fault"`
	Outcome Outcome `json:"outcome"`
	// Passed is null for n/a cells.
	Passed *bool `json:"passed"`
	// Steps are the commands run and their exit codes, in order, e.g.
	// "upgrade=4", "upgrade --resume=0".
	Steps   []string `json:"steps,omitempty"`
	Host    string   `json:"host,omitempty"`
	Trigger string   `json:"trigger,omitempty"`
	// Reason is the n/a reason, or what failed.
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	Dir     string  `json:"dir,omitempty"`
	// MaxRSSMB is kongctl's peak resident memory over the cell's
	// commands, in MiB (from wait4's rusage).
	MaxRSSMB float64 `json:"max_rss_mb,omitempty"`
	// Topology is the lab of a topology cell, Checked what its end-state
	// check verified.
	Topology Topology `json:"topology,omitempty"`
	Checked  string   `json:"checked,omitempty"`
}

func (r *Runner) logf(format string, args ...any) {
	w := r.Log
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "faults: "+format+"\n", args...)
}

// event is the part of kongctl's JSON events the runner reads.
type event struct {
	Type    string          `json:"type"`
	Phase   string          `json:"phase"`
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Payload json.RawMessage `json:"payload"`
}

// report is the part of kongctl's report the runner reads.
type report struct {
	RunID   string `json:"run_id"`
	Outcome string `json:"outcome"`
	Next    string `json:"next"`
	Error   string `json:"error"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// cmdResult is one kongctl command's end.
type cmdResult struct {
	args     []string
	code     int
	killed   bool // by the controller-kill fault
	report   *report
	rollback bool // a rollback-* phase started
	events   int
	maxRSS   int64 // peak RSS in bytes
}

// Run runs one cell and returns its result. The lab is brought back to X
// (healed, rolled back, rebuilt if need be) before the cell runs.
func (r *Runner) Run(ctx context.Context, c Cell) Result {
	res := Result{Phase: c.Phase, Fault: c.Fault, Host: c.Host, Trigger: c.Trigger.String(), Topology: c.Topology}
	if c.NA != "" {
		res.Outcome, res.Reason, res.Trigger, res.Host = OutNA, c.NA, "", ""
		return res
	}
	t0 := time.Now()
	dir := filepath.Join(r.Dir, strings.ReplaceAll(c.Name(), "/", "_"))
	res.Dir = dir
	fail := func(err error) Result {
		res.Outcome = OutBroken
		res.Passed = ptr(false)
		res.Reason = err.Error()
		res.Seconds = time.Since(t0).Seconds()
		r.logf("%s: FAIL: %v", c.Name(), err)
		return res
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	if err := r.useLab(ctx, c.Topology); err != nil {
		return fail(err)
	}
	if c.Topology == "" {
		if err := r.Reset(ctx, ""); err != nil {
			return fail(fmt.Errorf("reset the lab to X before the cell: %w", err))
		}
	}
	before, err := Fingerprint(ctx, r.Lab)
	if err != nil {
		return fail(err)
	}
	inv, err := r.cellInventory(c.Hook)
	if err != nil {
		return fail(err)
	}
	r.logf("%s: fault %s on %s at %s", c.Name(), c.Fault, orDash(c.Host), c.Trigger)
	for _, line := range c.Arm {
		if err := r.appendFault(ctx, migHost, line); err != nil {
			return fail(err)
		}
	}
	state := filepath.Join(dir, "state")
	out, err := r.drive(ctx, c, dir, state, inv)
	res.Steps = out.steps
	res.MaxRSSMB = float64(out.maxRSS) / (1 << 20)
	// Whatever happened, the lab is healed for the checks and the reset.
	r.HealAll(context.WithoutCancel(ctx))
	if err != nil {
		return fail(err)
	}
	res.Outcome = out.outcome
	if c.Topology != "" {
		res.Checked, err = r.checkTopology(ctx, c, out.outcome, before, state)
	} else {
		err = r.check(ctx, out.outcome, before)
	}
	if err != nil {
		return fail(fmt.Errorf("ended %s (%s) but: %w", out.outcome, strings.Join(out.steps, ", "), err))
	}
	if err := r.checkMore(ctx, c, state, out.maxRSS); err != nil {
		return fail(fmt.Errorf("ended %s (%s) but: %w", out.outcome, strings.Join(out.steps, ", "), err))
	}
	res.Passed = ptr(true)
	res.Seconds = time.Since(t0).Seconds()
	r.logf("%s: ok: %s (%s) in %.0fs", c.Name(), out.outcome, strings.Join(out.steps, " → "), res.Seconds)
	// Back to X for the next cell (an upgraded fleet is rolled back; a
	// topology cell's lab is replaced by the next cell's).
	if c.Topology != "" {
		return res
	}
	if err := r.Reset(ctx, state); err != nil {
		r.logf("%s: reset after the cell: %v", c.Name(), err)
	}
	return res
}

type driveOut struct {
	outcome Outcome
	steps   []string
	maxRSS  int64
}

// drive runs `kongctl upgrade` with the fault, then every command the runs
// ask for, until one ends upgraded, rolled back or refused.
func (r *Runner) drive(ctx context.Context, c Cell, dir, state, inv string) (driveOut, error) {
	var out driveOut
	args := []string{"upgrade", "-i", inv, "--yes", "-o", "json"}
	for attempt := 0; attempt < 4; attempt++ {
		var f *Cell
		if attempt == 0 {
			f = &c
		}
		cr, err := r.kongctl(ctx, f, filepath.Join(dir, fmt.Sprintf("%d", attempt)), state, args)
		label := strings.Join(cmdLabel(args), " ")
		if cr.killed {
			out.steps = append(out.steps, label+"=SIGKILL")
		} else {
			out.steps = append(out.steps, fmt.Sprintf("%s=%d", label, cr.code))
		}
		out.maxRSS = max(out.maxRSS, cr.maxRSS)
		r.HealAll(context.WithoutCancel(ctx))
		if err != nil {
			return out, err
		}
		if attempt == 0 {
			if err := wantFirst(c, cr); err != nil {
				return out, err
			}
		}
		switch {
		case cr.killed:
			// The operator resumes what was running.
			if cr.rollback || args[0] == "rollback" {
				args = []string{"rollback", "-i", inv, "--yes", "-o", "json"}
			} else {
				args = []string{"upgrade", "-i", inv, "--resume", "--yes", "-o", "json"}
			}
			continue
		case cr.report == nil:
			return out, fmt.Errorf("%s exited %d without a report", label, cr.code)
		}
		rep := cr.report
		switch cr.code {
		case 0:
			if args[0] == "rollback" {
				// kongctl rollback succeeds (exit 0) when the fleet is back on X.
				if rep.Outcome != "rolled-back" {
					return out, fmt.Errorf("%s exited 0 with outcome %s", label, rep.Outcome)
				}
				out.outcome = OutRolledBack
				return out, nil
			}
			if rep.Outcome != "succeeded" {
				return out, fmt.Errorf("%s exited 0 with outcome %s", label, rep.Outcome)
			}
			out.outcome = OutUpgraded
			return out, nil
		case 3:
			out.outcome = OutRolledBack
			return out, nil
		case 4:
			// Paused: the report must name the exact command; resume
			// when it names it, else roll back when that is the way.
			args = pausedNext(rep.Next, inv)
			if args == nil {
				return out, fmt.Errorf("%s paused; its next step %q names neither %q nor %q", label, rep.Next, "kongctl upgrade -i "+inv+" --resume", "kongctl rollback -i "+inv)
			}
		case 1:
			if m := unlockRE.FindStringSubmatch(rep.Next); m != nil && m[1] == inv {
				// Nothing changed but the lock stayed: clear it as told.
				ua := []string{"unlock", "-i", inv, "--run", m[2]}
				ucr, err := r.kongctl(ctx, nil, filepath.Join(dir, fmt.Sprintf("%d-unlock", attempt)), state, ua)
				out.steps = append(out.steps, fmt.Sprintf("unlock=%d", ucr.code))
				if err != nil {
					return out, err
				}
				if ucr.code != 0 {
					return out, fmt.Errorf("kongctl %s exited %d", strings.Join(ua, " "), ucr.code)
				}
				out.outcome = OutRefused
				return out, nil
			}
			if strings.Contains(rep.Next, "kongctl rollback -i "+inv) {
				args = []string{"rollback", "-i", inv, "--yes", "-o", "json"}
				continue
			}
			if strings.Contains(rep.Next, "--resume") {
				args = []string{"upgrade", "-i", inv, "--resume", "--yes", "-o", "json"}
				continue
			}
			out.outcome = OutRefused
			return out, nil
		default:
			return out, fmt.Errorf("%s exited %d (outcome %s): %s", label, cr.code, rep.Outcome, rep.Error)
		}
	}
	return out, fmt.Errorf("still not done after %d commands", len(out.steps))
}

func cmdLabel(args []string) []string {
	var l []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-i", "-o":
			i++
		case "--yes":
		default:
			l = append(l, args[i])
		}
	}
	return l
}

// kongctl runs one command with the cell's fault (nil: none), recording its
// events and stderr under base.*.
func (r *Runner) kongctl(ctx context.Context, c *Cell, base, state string, args []string) (cmdResult, error) {
	cr := cmdResult{args: args}
	timeout := r.CommandTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.Kongctl, args...)
	cmd.Env = append(os.Environ(), "KONGCTL_STATE_DIR="+state, "NO_COLOR=1")
	stderr, err := os.OpenFile(base+".stderr", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return cr, err
	}
	defer stderr.Close()
	events, err := os.OpenFile(base+".jsonl", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return cr, err
	}
	defer events.Close()
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return cr, err
	}
	inj := &injection{r: r, c: c, state: state}
	if c != nil && c.Trigger.beforeRun() {
		// In place before kongctl starts: its first look at the fleet
		// already sees the fault.
		if err := inj.fire(ctx); err != nil {
			inj.heal(context.WithoutCancel(ctx))
			return cr, fmt.Errorf("inject %s: %w", c.Fault, err)
		}
	}
	if err := cmd.Start(); err != nil {
		inj.heal(context.WithoutCancel(ctx))
		return cr, fmt.Errorf("start %s: %w", r.Kongctl, err)
	}
	inj.pid = cmd.Process.Pid
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var injErr error
	var phaseEnded chan struct{} // closed at the triggering phase's end
	for sc.Scan() {
		line := sc.Bytes()
		events.Write(line)
		events.Write([]byte{'\n'})
		var ev event
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		cr.events++
		if ev.Type == "phase_start" && strings.HasPrefix(ev.Phase, "rollback-") {
			if !cr.rollback && c != nil && c.ClearOnRollback {
				inj.heal(ctx)
			}
			cr.rollback = true
		}
		if ev.Type == "report" {
			var rep report
			if json.Unmarshal(ev.Payload, &rep) == nil {
				cr.report = &rep
			}
		}
		if c != nil && !inj.fired && matches(c.Trigger, ev) {
			if c.Trigger.Migrating || c.Trigger.Process != "" || c.Trigger.Step != "" {
				phaseEnded = make(chan struct{})
				inj.fireWhenReady(ctx, phaseEnded)
			} else if err := inj.fireAfter(ctx, c.Trigger.Delay); err != nil && injErr == nil {
				injErr = err
			}
		}
		if phaseEnded != nil && ev.Type == "phase_end" && ev.Phase == c.Trigger.Phase {
			close(phaseEnded)
			phaseEnded = nil
		}
	}
	if phaseEnded != nil {
		close(phaseEnded)
	}
	err = cmd.Wait()
	cr.maxRSS = maxRSS(cmd.ProcessState)
	inj.wait()
	inj.heal(context.WithoutCancel(ctx))
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && inj.killed {
			cr.killed = true
		} else {
			cr.code = ee.ExitCode()
		}
	default:
		return cr, fmt.Errorf("run kongctl %s: %w", strings.Join(args, " "), err)
	}
	if cctx.Err() != nil {
		return cr, fmt.Errorf("kongctl %s: did not end within %s", strings.Join(args, " "), timeout)
	}
	if injErr != nil {
		return cr, fmt.Errorf("inject %s: %w", c.Fault, injErr)
	}
	if c != nil && !inj.fired {
		return cr, fmt.Errorf("the fault was never injected: no %s event", c.Trigger)
	}
	return cr, nil
}

func matches(t Trigger, ev event) bool {
	if ev.Type != t.Event {
		return false
	}
	if t.Message != "" {
		return strings.Contains(ev.Message, t.Message)
	}
	if t.Phase == "rollback" {
		return strings.HasPrefix(ev.Phase, "rollback-")
	}
	return ev.Phase == t.Phase
}

// injection is one fault in one command.
type injection struct {
	r      *Runner
	c      *Cell
	state  string // the command's KONGCTL_STATE_DIR (its journals)
	pid    int
	fired  bool
	killed bool

	mu     sync.Mutex
	healFn func(context.Context) error
	wg     sync.WaitGroup
	stop   chan struct{}
}

// fireAfter injects after d (in the background when d > 0, so events keep
// flowing), then schedules the heal after Hold.
func (in *injection) fireAfter(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return in.fire(ctx)
	}
	in.fired = true
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		if sleep(ctx, d) != nil {
			return
		}
		if err := in.inject(ctx); err != nil {
			in.r.logf("%s: inject: %v", in.c.Name(), err)
		}
	}()
	return nil
}

// fireWhenReady injects, in the background, once Kong's migrations lock
// row exists (Trigger.Migrating) or the trigger's process runs on the
// cell's host (Trigger.Process), plus the trigger's delay; or when ended
// is closed (the phase ended, or kongctl exited) if that comes first.
func (in *injection) fireWhenReady(ctx context.Context, ended <-chan struct{}) {
	in.fired = true
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		var seen bool
		what := "kong migrations' lock"
		if p := in.c.Trigger.Process; p != "" {
			what = p + " on " + in.c.Host
			seen = in.r.waitProcess(ctx, in.c.Host, p, ended)
		} else if st := in.c.Trigger.Step; st != "" {
			what = st + " done in the journal"
			seen = in.r.waitJournalStep(ctx, in.state, st, ended)
		} else {
			seen = in.r.waitMigrationsLock(ctx, ended)
		}
		if !seen {
			in.r.logf("%s: %s not seen before the phase ended; injecting now", in.c.Name(), what)
		} else if sleep(ctx, in.c.Trigger.Delay) != nil {
			return
		}
		if err := in.inject(ctx); err != nil {
			in.r.logf("%s: inject: %v", in.c.Name(), err)
		}
	}()
}

// waitMigrationsLock polls the lab database until Kong's migrations lock
// row is there (true), or ended is closed (false).
func (r *Runner) waitMigrationsLock(ctx context.Context, ended <-chan struct{}) bool {
	dsn, err := r.Lab.DSN()
	if err != nil {
		return false
	}
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	return pollUntil(ctx, ended, 50*time.Millisecond, func() bool {
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, _ = pgx.Connect(cctx, dsn)
			cancel()
		}
		if conn == nil {
			return false
		}
		var n int
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := conn.QueryRow(qctx, `SELECT count(*) FROM public.locks WHERE key = 'migrations'`).Scan(&n)
		cancel()
		if err != nil {
			conn.Close(context.Background())
			conn = nil
		}
		return err == nil && n > 0
	})
}

func (in *injection) fire(ctx context.Context) error {
	in.fired = true
	return in.inject(ctx)
}

func (in *injection) inject(ctx context.Context) error {
	heal, err := in.r.inject(ctx, in.c, in.pid)
	if in.c.Fault == FaultKill && err == nil {
		in.killed = true
	}
	in.mu.Lock()
	in.healFn = heal
	in.mu.Unlock()
	if err != nil {
		return err
	}
	if in.c.Hold > 0 {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			if sleep(ctx, in.c.Hold) == nil {
				in.heal(ctx)
			}
		}()
	}
	return nil
}

func (in *injection) heal(ctx context.Context) {
	in.mu.Lock()
	h := in.healFn
	in.healFn = nil
	in.mu.Unlock()
	if h != nil {
		if err := h(ctx); err != nil {
			in.r.logf("heal %s: %v", in.c.Fault, err)
		}
	}
}

// wait joins the background injection and heal.
func (in *injection) wait() { in.wg.Wait() }

// inject puts one fault in place and returns how to undo it.
func (r *Runner) inject(ctx context.Context, c *Cell, kongctlPID int) (func(context.Context) error, error) {
	l := r.Lab
	switch c.Fault {
	case FaultKill:
		if err := syscall.Kill(kongctlPID, syscall.SIGKILL); err != nil {
			return nil, fmt.Errorf("kill kongctl (pid %d): %w", kongctlPID, err)
		}
		return nil, nil
	case FaultSSHCut:
		if err := r.cutSSH(ctx, c.Host); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return l.StartSSHD(ctx, c.Host) }, nil
	case FaultNetworkCut:
		if err := l.CutNetwork(ctx, c.Host); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return l.RestoreNetwork(ctx, c.Host) }, nil
	case FaultDBDown:
		if err := l.StopDB(ctx); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return l.StartDB(ctx) }, nil
	case FaultDiskFull:
		if err := l.FillDisk(ctx, c.Host, ""); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return l.FreeDisk(ctx, c.Host, "") }, nil
	case FaultKongRefuse, FaultMigrationFail, FaultMigrationCrash:
		if err := r.appendFault(ctx, c.Host, c.Line); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return r.removeFault(ctx, c.Host, c.Line) }, nil
	}
	if heal, ok, err := r.injectTopology(ctx, c); ok {
		return heal, err
	}
	if heal, ok, err := r.injectMore(ctx, c, kongctlPID); ok {
		return heal, err
	}
	return nil, fmt.Errorf("unknown fault %q", c.Fault)
}

// cutSSH kills a host's sshd and every SSH session into it: open
// connections drop and new ones are refused until StartSSHD.
func (r *Runner) cutSSH(ctx context.Context, name string) error {
	h, ok := r.Lab.Host(name)
	if !ok {
		return fmt.Errorf("no host %s", name)
	}
	if err := r.Lab.KillSSHD(ctx, name); err != nil {
		return err
	}
	for _, pid := range procsIn(h.NetNS, "sshd") {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

// procsIn lists the processes named comm in the network namespace with
// inode netns (the per-connection sshd of a lab host, its pg_dump).
func procsIn(netns uint64, comm string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) == nil && st.Ino == netns {
			pids = append(pids, pid)
		}
	}
	return pids
}

const faultFile = "/usr/local/kong/fault.env"

func (r *Runner) appendFault(ctx context.Context, host, line string) error {
	_, err := r.Lab.Exec(ctx, host, fmt.Sprintf("mkdir -p /usr/local/kong && printf '%%s\\n' %s >> %s", shellquote.Quote(line), faultFile))
	return err
}

func (r *Runner) removeFault(ctx context.Context, host, line string) error {
	_, err := r.Lab.Exec(ctx, host, fmt.Sprintf("[ ! -f %[2]s ] || { grep -vxF %[1]s %[2]s > %[2]s.new; mv %[2]s.new %[2]s; }", shellquote.Quote(line), faultFile))
	return err
}

// HealAll undoes every fault on the lab: links up, sshd running, disks
// freed, the database running, no simulator fault file.
func (r *Runner) HealAll(ctx context.Context) {
	l := r.Lab
	for _, h := range l.Hosts() {
		if err := l.Heal(ctx, h.Name); err != nil {
			r.logf("heal %s: %v", h.Name, err)
		}
		if h.Kind == labenv.KindDatabase {
			_ = l.FreeDisk(ctx, h.Name, "")
		}
	}
	if !l.DBRunning(ctx) {
		if err := l.StartDB(ctx); err != nil {
			r.logf("heal: %v", err)
		}
	}
	for _, h := range l.KongHosts() {
		_, _ = l.Exec(ctx, h.Name, "rm -f "+faultFile)
	}
}

var unlockRE = regexp.MustCompile("`kongctl unlock -i (\\S+) --run (\\S+)`")

var soakRE = regexp.MustCompile(`(?m)^(\s*soak\s*=\s*)"[^"]*"`)

// cellInventory writes the lab's inventory with a short soak beside it
// (relative paths in it stay valid) and returns its path.
func (r *Runner) cellInventory(hook *HookFault) (string, error) {
	b, err := os.ReadFile(r.Lab.InventoryPath())
	if err != nil {
		return "", fmt.Errorf("read the lab inventory: %w", err)
	}
	if r.Soak != "" {
		b = soakRE.ReplaceAll(b, []byte(`${1}"`+r.Soak+`"`))
	}
	if b, err = r.Topology.editInventory(b); err != nil {
		return "", err
	}
	b = append(b, hookBlock(hook)...)
	p := filepath.Join(r.Lab.Dir(), "faults-hosts.hcl")
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return p, nil
	}
	return p, os.WriteFile(p, b, 0o644)
}

// check verifies the fleet is in the state the outcome claims.
func (r *Runner) check(ctx context.Context, o Outcome, before string) error {
	opts := r.Lab.Options()
	if run, err := FleetLock(ctx, r.Lab); err != nil {
		return err
	} else if run != "" {
		return fmt.Errorf("the fleet lock is still held by run %s", run)
	}
	switch o {
	case OutUpgraded:
		return FleetOn(ctx, r.Lab, opts.To)
	case OutRolledBack, OutRefused:
		fp, err := Fingerprint(ctx, r.Lab)
		if err != nil {
			return err
		}
		if fp != before {
			return fmt.Errorf("database fingerprint %s, before the upgrade %s: data changed", short(fp), short(before))
		}
		return FleetOn(ctx, r.Lab, opts.From)
	}
	return fmt.Errorf("outcome %s is not an accepted end", o)
}

// Reset brings the lab back to X: faults healed; a fleet on Y (or half
// way) rolled back with the run journal in state ("" = none); as a last
// resort the lab is rebuilt.
func (r *Runner) Reset(ctx context.Context, state string) error {
	r.HealAll(ctx)
	if r.onX(ctx) == nil {
		return nil
	}
	if state == "" {
		state = filepath.Join(r.Lab.Dir(), ".kongctl")
	}
	{
		if _, err := os.Stat(state); err == nil {
			inv, err := r.cellInventory(nil)
			if err != nil {
				return err
			}
			cmd := exec.CommandContext(ctx, r.Kongctl, "rollback", "-i", inv, "--yes", "-q")
			cmd.Env = append(os.Environ(), "KONGCTL_STATE_DIR="+state)
			b, err := cmd.CombinedOutput()
			r.HealAll(ctx)
			if r.onX(ctx) == nil {
				return nil
			}
			r.logf("reset: rollback did not bring X back (%v): %s", err, lastLines(b, 5))
		}
	}
	r.logf("reset: rebuilding the lab")
	opts := r.Lab.Options()
	if err := r.Lab.Down(); err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	l, err := labenv.Up(ctx, opts)
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	r.Lab = l
	r.baseline = ""
	return r.onX(ctx)
}

// onX checks the fleet serves X, the lock is free, and the database is the
// one of the lab on X.
func (r *Runner) onX(ctx context.Context) error {
	if err := FleetOn(ctx, r.Lab, r.Lab.Options().From); err != nil {
		return err
	}
	if run, err := FleetLock(ctx, r.Lab); err != nil {
		return err
	} else if run != "" {
		return fmt.Errorf("fleet lock held by %s", run)
	}
	fp, err := Fingerprint(ctx, r.Lab)
	if err != nil {
		return err
	}
	if r.baseline == "" {
		r.baseline = fp
	}
	if fp != r.baseline {
		return fmt.Errorf("database fingerprint %s differs from the lab's X baseline %s", short(fp), short(r.baseline))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lastLines(b []byte, n int) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}
