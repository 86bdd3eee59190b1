package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// injectMore puts a fault of the second round's rows in place (ok false:
// not one of them) and returns how to undo it.
func (r *Runner) injectMore(ctx context.Context, c *Cell, kongctlPID int) (heal func(context.Context) error, ok bool, err error) {
	l := r.Lab
	switch c.Fault {
	case FaultSIGINT, FaultSIGTERM:
		sig := syscall.SIGINT
		if c.Fault == FaultSIGTERM {
			sig = syscall.SIGTERM
		}
		if err := syscall.Kill(kongctlPID, sig); err != nil {
			return nil, true, fmt.Errorf("signal kongctl (pid %d) with %s: %w", kongctlPID, sig, err)
		}
		return nil, true, nil
	case FaultSIGINTTwice:
		// An operator's second Ctrl-C, a moment after the first.
		for i := range 2 {
			if i > 0 {
				time.Sleep(secondSignalAfter)
			}
			if err := syscall.Kill(kongctlPID, syscall.SIGINT); err != nil {
				if i > 0 && errors.Is(err, syscall.ESRCH) {
					return nil, true, nil // it had already paused
				}
				return nil, true, fmt.Errorf("signal kongctl (pid %d) with SIGINT: %w", kongctlPID, err)
			}
		}
		return nil, true, nil
	case FaultDBRestart:
		return nil, true, l.RestartDB(ctx)
	case FaultToolsReboot:
		if err := l.PowerCut(ctx, c.Host); err != nil {
			return nil, true, err
		}
		return func(ctx context.Context) error { return l.PowerOn(ctx, c.Host) }, true, nil
	case FaultHookFail, FaultHookHang, FaultHookFlood:
		return nil, true, nil // the hook is in the cell's inventory
	}
	return nil, false, nil
}

// secondSignalAfter is how long after the first Ctrl-C the second comes.
const secondSignalAfter = 300 * time.Millisecond

// waitProcess polls until a process named comm runs on host (true), or
// ended is closed (false).
func (r *Runner) waitProcess(ctx context.Context, host, comm string, ended <-chan struct{}) bool {
	h, ok := r.Lab.Host(host)
	if !ok {
		return false
	}
	return pollUntil(ctx, ended, 20*time.Millisecond, func() bool { return len(procsIn(h.NetNS, comm)) > 0 })
}

// pollUntil calls ready every interval until it returns true (true), or
// ended is closed or ctx ends (false).
func pollUntil(ctx context.Context, ended <-chan struct{}, every time.Duration, ready func() bool) bool {
	for {
		if ready() {
			return true
		}
		select {
		case <-ended:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// wantFirst checks the first command of a cell ended as the cell demands
// (a signal pauses, a failing hook rolls back).
func wantFirst(c Cell, cr cmdResult) error {
	if len(c.WantFirst) == 0 {
		return nil
	}
	if cr.killed || !slices.Contains(c.WantFirst, cr.code) {
		got := fmt.Sprintf("exited %d", cr.code)
		if cr.killed {
			got = "was killed"
		}
		return fmt.Errorf("kongctl %s %s after %s, want exit %s", cr.args[0], got, c.Fault, joinInts(c.WantFirst))
	}
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " or ")
}

// pausedNext is the command a paused run's next step names: resume when
// it names `kongctl upgrade -i INV --resume`, else roll back when it
// names `kongctl rollback -i INV`; nil when it names neither.
func pausedNext(next, inv string) []string {
	switch {
	case strings.Contains(next, "kongctl upgrade -i "+inv+" --resume"):
		return []string{"upgrade", "-i", inv, "--resume", "--yes", "-o", "json"}
	case strings.Contains(next, "kongctl rollback -i "+inv):
		return []string{"rollback", "-i", inv, "--yes", "-o", "json"}
	}
	return nil
}

// maxRSS is a finished process's peak resident memory in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024 // KiB on Linux
	}
	return 0
}

// hookBlock is the inventory text of a hook cell's hook ("" for none).
func hookBlock(h *HookFault) string {
	if h == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n# kongctl-faults: the cell's hook\nhook %s {\n  command = %s\n", labenv.HCLString(h.Event), labenv.HCLString(h.Command))
	if h.PerNode {
		b.WriteString("  per_node = true\n")
	}
	if h.Timeout > 0 {
		fmt.Fprintf(&b, "  timeout = %s\n", labenv.HCLString(h.Timeout.String()))
	}
	b.WriteString("}\n")
	return b.String()
}

// hookEvidence is what the journal of a hook cell must hold: the hook's
// failure as kongctl saw it.
func hookEvidence(f Fault) string {
	switch f {
	case FaultHookFail:
		return "this hook fails on purpose"
	case FaultHookHang:
		return "timed out after " + hookTimeout.String()
	case FaultHookFlood:
		return "flooded, now failing"
	}
	return ""
}

// checkMore runs the second round's checks on top of the end state: the
// hook cells' (checkHookCell, and no hanging hook left running), and after
// a signal no package operation left half-done on any Kong node.
func (r *Runner) checkMore(ctx context.Context, c Cell, state string, maxRSS int64) error {
	if err := checkHookCell(c, state, maxRSS); err != nil {
		return err
	}
	switch c.Fault {
	case FaultHookHang:
		if pids := hangingHooks(); len(pids) > 0 {
			return fmt.Errorf("the hanging hook outlived its timeout: sleep %s still runs (pids %v)", hangSeconds, pids)
		}
	case FaultSIGINT, FaultSIGTERM, FaultSIGINTTwice:
		return r.dpkgClean(ctx)
	}
	return nil
}

// hangingHooks lists the processes running the hanging hook's sleep.
func hangingHooks() []int {
	ents, _ := os.ReadDir("/proc")
	want := "sleep\x00" + hangSeconds + "\x00"
	var pids []int
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasSuffix(string(b), want) {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			pids = append(pids, pid)
		}
	}
	return pids
}

// dpkgClean checks `dpkg --audit` finds no half-installed or
// half-configured package on any Kong node.
func (r *Runner) dpkgClean(ctx context.Context) error {
	for _, h := range r.Lab.KongHosts() {
		out, err := r.Lab.Exec(ctx, h.Name, "dpkg --audit")
		if err != nil {
			return fmt.Errorf("host %s: dpkg --audit: %w", h.Name, err)
		}
		if s := strings.TrimSpace(out); s != "" {
			return fmt.Errorf("host %s: dpkg --audit: a package operation was left half-done: %s", h.Name, s)
		}
	}
	return nil
}

// checkHookCell checks, after a hook cell, that the hook ran as a
// journaled step whose failure the journal holds, that the journals stay
// small (the hook's output is kept as bounded tails), and that kongctl's
// peak RSS (maxRSS bytes) stayed under the bar.
func checkHookCell(c Cell, state string, maxRSS int64) error {
	if c.Hook == nil {
		return nil
	}
	if maxRSS > maxRSSBytes {
		return fmt.Errorf("kongctl's peak RSS %d MiB is over %d MiB", maxRSS>>20, maxRSSBytes>>20)
	}
	files, err := filepath.Glob(filepath.Join(state, "runs", "*", "journal.jsonl"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no run journal under %s", state)
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if len(b) > maxJournalBytes {
			return fmt.Errorf("journal %s is %d bytes, over %d: the hook's output is not bounded", f, len(b), maxJournalBytes)
		}
		all.Write(b)
	}
	return journalHasHook(all.String(), c)
}

// journalHasHook checks a journal's text holds the cell's hook step and
// its failure.
func journalHasHook(journal string, c Cell) error {
	key := "hook/" + c.Hook.Event + "/"
	if !strings.Contains(journal, key) {
		return fmt.Errorf("the journal has no %s… step", key)
	}
	if ev := hookEvidence(c.Fault); !strings.Contains(journal, ev) {
		return fmt.Errorf("the journal does not hold the hook's failure (%q)", ev)
	}
	return nil
}
