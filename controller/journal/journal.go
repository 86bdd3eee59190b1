// Package journal is the run journal of an upgrade: an append-only file of
// JSON lines on the bastion, fsync'd after every record, from which an
// interrupted run is resumed (controller killed, bastion rebooted).
//
// Layout: <root>/runs/<run-id>/journal.jsonl where root is normally
// ".kongctl" next to the inventory. The first record is the run header;
// every later record is a step transition. A torn last line (the process
// died mid-write) is ignored on load.
//
// A Journal is safe for concurrent use by the goroutines of one run.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// FileName is the journal file inside a run directory.
const FileName = "journal.jsonl"

// Status is a step's state in the journal.
type Status string

const (
	Started Status = "started"
	Done    Status = "done"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	Undone  Status = "undone" // rolled back
)

// Header describes the run; it is the first record of the file.
type Header struct {
	RunID         string    `json:"run_id"`
	Started       time.Time `json:"started"`
	InventoryPath string    `json:"inventory_path"`
	InventoryHash string    `json:"inventory_sha256"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	Hosts         []string  `json:"hosts"`
	MigrationHost string    `json:"migration_host"`
	OnFailure     string    `json:"on_failure"`
	Version       string    `json:"kongctl_version,omitempty"`
}

// Record is one line of the journal.
type Record struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`            // "header", "step", "run"
	Phase  string    `json:"phase,omitempty"` // phase name
	Step   string    `json:"step,omitempty"`  // unique step key, e.g. "stop/kong-1"
	Host   string    `json:"host,omitempty"`
	Status Status    `json:"status,omitempty"`
	// Started is when the step started, on its done and failed records
	// (the time of its latest started record), so that each record that
	// ends a step carries the step's whole span.
	Started time.Time       `json:"started,omitzero"`
	Error   string          `json:"error,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Header  *Header         `json:"header,omitempty"`
}

// Journal is an open run journal.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	dir     string
	records []Record
	live    *State // records folded as they are appended (Status, Done, Data)
	now     func() time.Time
}

// RunDir is the directory of one run under root.
func RunDir(root, runID string) string { return filepath.Join(root, "runs", runID) }

// Create starts a new journal for h.RunID under root, writing the header.
func Create(root string, h Header, now func() time.Time) (*Journal, error) {
	if now == nil {
		now = time.Now
	}
	dir := RunDir(root, h.RunID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create run journal directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create run journal: %w", err)
	}
	syncDir(dir)
	syncDir(filepath.Dir(dir))
	j := &Journal{f: f, dir: dir, live: Fold(nil), now: now}
	if err := j.append(Record{Kind: "header", Header: &h}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// Open loads an existing run journal and opens it for appending.
func Open(dir string, now func() time.Time) (*Journal, error) {
	if now == nil {
		now = time.Now
	}
	recs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open run journal: %w", err)
	}
	// A torn tail would make the next line invalid: end it first.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		b, _ := os.ReadFile(path)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return nil, fmt.Errorf("repair run journal tail: %w", err)
			}
		}
	}
	return &Journal{f: f, dir: dir, records: recs, live: Fold(recs), now: now}, nil
}

// Read loads the records of the journal in dir without opening it for
// writing. Lines that do not parse (a torn last write) are skipped.
func Read(dir string) ([]Record, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read run journal: %w", err)
	}
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 || recs[0].Kind != "header" || recs[0].Header == nil {
		return nil, fmt.Errorf("read run journal %s: no header record", path)
	}
	return recs, nil
}

// Latest returns the directory of the most recent run under root
// (run ids sort by time), or "" when there is none.
func Latest(root string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "runs"))
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list runs: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, "runs", e.Name(), FileName)); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	sort.Strings(names)
	return filepath.Join(root, "runs", names[len(names)-1]), nil
}

// Dir is the run directory (backups fetched to the bastion may live here).
func (j *Journal) Dir() string { return j.dir }

// Header returns the run header.
func (j *Journal) Header() Header {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *j.records[0].Header
}

// Records returns a copy of all records.
func (j *Journal) Records() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.records...)
}

// Step appends a step transition. data, if not nil, is stored as JSON and
// replaces the step's earlier data.
func (j *Journal) Step(phase, step, host string, st Status, data any, stepErr error) error {
	r := Record{Kind: "step", Phase: phase, Step: step, Host: host, Status: st}
	if st == Done || st == Failed {
		r.Started = j.startedAt(step)
	}
	if stepErr != nil {
		r.Error = stepErr.Error()
	}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("journal step %s: encode data: %w", step, err)
		}
		r.Data = b
	}
	return j.append(r)
}

// startedAt is the time of step's latest started record (zero when none).
func (j *Journal) startedAt(step string) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.live.started[step]
}

// Run appends a run-level transition (e.g. "paused", "rolled-back").
func (j *Journal) Run(status Status, msg string) error {
	return j.append(Record{Kind: "run", Status: status, Error: msg})
}

func (j *Journal) append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Seq = len(j.records)
	r.Time = j.now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: encode record: %w", err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal: write %s: %w", j.f.Name(), err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: fsync %s: %w", j.f.Name(), err)
	}
	j.records = append(j.records, r)
	j.live.add(r)
	return nil
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// State is the last known status and data of every step.
type State struct {
	steps   map[string]Record
	order   []string
	runs    []Record
	started map[string]time.Time // each step's latest started record
}

// State folds the records into the latest status per step: a snapshot,
// for reading many steps. One step's status or data is cheaper from the
// journal's own Status, Done and Data.
func (j *Journal) State() *State { return Fold(j.Records()) }

// Status of step in the journal so far ("" when never journaled). The
// journal folds its records as they are appended, so this and Done and
// Data cost a lookup, not a fold of the whole journal (the runner asks
// per step and host).
func (j *Journal) Status(step string) Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.live.Status(step)
}

// Done reports whether step completed, in the journal so far.
func (j *Journal) Done(step string) bool { return j.Status(step) == Done }

// Data decodes step's latest data into v; false when there is none.
func (j *Journal) Data(step string, v any) bool {
	j.mu.Lock()
	r, ok := j.live.steps[step]
	j.mu.Unlock()
	// r.Data is never written after it is appended: decoded unlocked.
	return ok && len(r.Data) > 0 && json.Unmarshal(r.Data, v) == nil
}

// Fold builds a State from records.
func Fold(recs []Record) *State {
	s := &State{steps: map[string]Record{}, started: map[string]time.Time{}}
	for _, r := range recs {
		s.add(r)
	}
	return s
}

// add folds one more record into s.
func (s *State) add(r Record) {
	switch r.Kind {
	case "step":
		prev, seen := s.steps[r.Step]
		if !seen {
			s.order = append(s.order, r.Step)
		}
		if len(r.Data) == 0 && seen {
			r.Data = prev.Data
		}
		s.steps[r.Step] = r
		if r.Status == Started {
			s.started[r.Step] = r.Time
		}
	case "run":
		s.runs = append(s.runs, r)
	}
}

// Status of step ("" when never journaled).
func (s *State) Status(step string) Status { return s.steps[step].Status }

// Done reports whether step completed.
func (s *State) Done(step string) bool { return s.steps[step].Status == Done }

// Data decodes the step's data into v; false when there is none.
func (s *State) Data(step string, v any) bool {
	r, ok := s.steps[step]
	if !ok || len(r.Data) == 0 {
		return false
	}
	return json.Unmarshal(r.Data, v) == nil
}

// Steps returns the step keys in first-seen order, filtered by prefix.
func (s *State) Steps(prefix string) []string {
	var out []string
	for _, k := range s.order {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// Record returns the last record of step.
func (s *State) Record(step string) (Record, bool) {
	r, ok := s.steps[step]
	return r, ok
}

// LastRun is the last run-level record ("" status when none).
func (s *State) LastRun() Record {
	if len(s.runs) == 0 {
		return Record{}
	}
	return s.runs[len(s.runs)-1]
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
