//go:build integration

package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// journalRecord is the part of a journal line the tests read.
type journalRecord struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Phase  string    `json:"phase"`
	Step   string    `json:"step"`
	Host   string    `json:"host"`
	Status string    `json:"status"`
}

// readJournals reads every run journal under the state dir, by run ID.
func (e *env) readJournals() map[string][]journalRecord {
	e.t.Helper()
	out := map[string][]journalRecord{}
	for _, p := range e.journalFiles() {
		id := filepath.Base(filepath.Dir(p))
		e.scanJournal(p, func(line []byte) {
			var r journalRecord
			if json.Unmarshal(line, &r) == nil {
				out[id] = append(out[id], r)
			}
		})
	}
	return out
}

// journalFiles lists the run journals under the state dir.
func (e *env) journalFiles() []string {
	e.t.Helper()
	files, err := filepath.Glob(filepath.Join(e.stateDir, "runs", "*", "journal.jsonl"))
	if err != nil {
		e.t.Fatal(err)
	}
	return files
}

// scanJournal calls fn with every line of the journal at p.
func (e *env) scanJournal(p string, fn func(line []byte)) {
	e.t.Helper()
	f, err := os.Open(p)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
}

// Issue 6, case 4: the controller is killed (SIGKILL) during install;
// `kongctl upgrade --resume` completes the upgrade, and no step that is
// not idempotent ran twice.
func TestResumeAfterControllerKilled(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)

	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	ev := run.waitEvent(t, 3*time.Minute, "the install phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "install"
	})
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 30*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("kongctl was not killed by SIGKILL: exit %d", code)
	}
	t.Logf("killed run %s at the start of install", ev.RunID)

	r := e.kongctl("upgrade", "-i", e.inv, "--resume", "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade --resume: %s", r)
	}
	// The packages the killed run staged are found on the nodes, not
	// uploaded again: no SFTP session beside each host's agent session.
	if tr := finalReport(t, r.stdout).Transport; tr == nil || tr.SSHSessions > int64(tr.Hosts) {
		t.Errorf("the resume's transport %+v: want at most one SSH session per host", tr)
	} else {
		t.Logf("the resume: %d SSH sessions to %d hosts", tr.SSHSessions, tr.Hosts)
	}
	e.requireVersion("3.4.2", nodes...)
	if code, out := e.migrationsList(nodes[1]); code != 0 {
		t.Errorf("kong migrations list on %s: exit %d: %s", nodes[1], code, out)
	}
	e.requireServing(nodes, labRoutes)

	// One run, resumed in place; its journal shows each step done once.
	js := e.readJournals()
	recs, ok := js[ev.RunID]
	if !ok || len(js) != 1 {
		t.Fatalf("journals: %d runs, want only the killed run %s", len(js), ev.RunID)
	}
	done := map[string]int{}
	started := map[string]int{}
	for _, rec := range recs {
		if rec.Kind != "step" {
			continue
		}
		switch rec.Status {
		case "done":
			done[rec.Step]++
		case "started":
			started[rec.Step]++
		}
	}
	for step, n := range done {
		// Taking the run's own fleet lock again is how a resume starts.
		if n > 1 && step != "lock" {
			t.Errorf("journal: step %s done %d times", step, n)
		}
	}
	// Steps that must never run twice: the backup, the stop, the
	// migrations (install, the only phase the kill can cut, is idempotent).
	for step, n := range started {
		if n > 1 && !strings.HasPrefix(step, "install") && step != "lock" {
			t.Errorf("journal: step %s started %d times (only install may be repeated)", step, n)
		}
	}
	var migUp, migFinish int
	for step := range done {
		switch {
		case step == "migrate/up":
			migUp++
		case step == "migrate/finish":
			migFinish++
		}
	}
	if migUp != 1 || migFinish != 1 {
		t.Errorf("journal: migrate-up done %d, migrate-finish done %d; want 1 and 1\nsteps: %v", migUp, migFinish, done)
	}
}

// Issue 6, case 5: a second kongctl run is refused by the fleet lock while
// the first is migrating; the first still succeeds.
func TestSecondRunRefusedByLock(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	// Slow migrations on the migration host keep the first run busy.
	e.writeFault(nodes[0], "FAKE_KONG_SLOW=1")

	first := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	ev := first.waitEvent(t, 3*time.Minute, "the migrate-up phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "migrate-up"
	})
	second := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if second.code == 0 {
		t.Fatalf("second upgrade succeeded while %s held the lock: %s", ev.RunID, second)
	}
	// The headline (the report's first error line) names the lock and the
	// run holding it.
	head, _, _ := strings.Cut(second.stdout+"\n"+second.stderr, "\n\n")
	if !strings.Contains(head, "fleet lock") || !strings.Contains(head, ev.RunID) {
		t.Errorf("second run's output does not name the lock and run %s: %s", ev.RunID, second)
	}
	select {
	case <-first.done:
		t.Fatalf("the first run ended (exit %d) before the second was refused; the test proves nothing\nstderr:\n%s", first.code, first.stderr)
	default:
	}
	if code := first.wait(t, 4*time.Minute); code != 0 {
		t.Fatalf("first upgrade: exit %d\nstdout:\n%s\nstderr:\n%s", code, first.stdout, first.stderr)
	}
	e.clearFault(nodes[0])
	e.requireVersion("3.4.2", nodes...)
	e.requireServing(nodes, []route{{"/lab", ""}})
}
