package controller

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Outcome is how a run ended. The CLI maps it to an exit code.
type Outcome string

const (
	Succeeded  Outcome = "succeeded"
	RolledBack Outcome = "rolled-back"
	Paused     Outcome = "paused"
	Failed     Outcome = "failed"
)

// ExitCode is the process exit code for the outcome: 0 succeeded,
// 3 rolled back, 4 paused, 1 failed.
func (o Outcome) ExitCode() int {
	switch o {
	case Succeeded:
		return 0
	case RolledBack:
		return 3
	case Paused:
		return 4
	}
	return 1
}

// Severity of a finding.
type Severity string

const (
	SevError   Severity = "error"   // blocks the upgrade
	SevWarning Severity = "warning" // reported, does not block
	SevInfo    Severity = "info"
)

// Finding is one thing preflight (or the run) found.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Host     string   `json:"host,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

// PhaseResult is one line of the timeline.
type PhaseResult struct {
	Phase    string    `json:"phase"`
	Status   string    `json:"status"` // ok, failed, skipped, rolled-back, resumed
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Error    string    `json:"error,omitempty"`
}

// StepResult is one host's part of a phase.
type StepResult struct {
	Phase  string `json:"phase"`
	Status string `json:"status"`
	// Started is when the step started (with Duration, its span on a
	// timeline).
	Started  time.Time `json:"started,omitzero"`
	Duration float64   `json:"duration_seconds"`
	// Agent is the time the node's agent itself spent on the step, per
	// operation ("service.stop", "package.install", "migrations.up"...),
	// as the agent timed it (no SSH round trips). Absent when the node
	// does not report it.
	Agent map[string]float64 `json:"agent_seconds,omitempty"`
	Error string             `json:"error,omitempty"`
}

// HostReport is one host's result.
type HostReport struct {
	Name        string       `json:"name"`
	Roles       []string     `json:"roles,omitempty"`
	FromVersion string       `json:"from_version,omitempty"`
	Version     string       `json:"version,omitempty"` // at the end of the run
	Result      string       `json:"result"`            // ok, failed, rolled-back, untouched
	Steps       []StepResult `json:"steps,omitempty"`
}

// Window is the measured downtime window: Start is the first stop, End
// the moment the last node was healthy again (all nodes serving).
type Window struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"duration_seconds"`
	// AllStopped is when the last node was verified down, FirstServing
	// when the first node was healthy again (FirstServingAfter seconds
	// after Start). FleetDown is the time in between, when no node served.
	AllStopped        time.Time `json:"all_stopped,omitzero"`
	FirstServing      time.Time `json:"first_serving,omitzero"`
	FirstServingAfter float64   `json:"first_serving_after_seconds"`
	FleetDown         float64   `json:"fleet_down_seconds"`
}

// Report is the result of Upgrade or Rollback.
type Report struct {
	RunID         string        `json:"run_id"`
	Operation     string        `json:"operation"` // upgrade | rollback
	Outcome       Outcome       `json:"outcome"`
	From          string        `json:"from"`
	To            string        `json:"to"`
	MigrationHost string        `json:"migration_host,omitempty"`
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	Timeline      []PhaseResult `json:"timeline"`
	Hosts         []HostReport  `json:"hosts"`
	Downtime      *Window       `json:"downtime,omitempty"`
	// Order says how the window ran: the stop mode and where `kong
	// migrations finish` ran.
	Order  string      `json:"order,omitempty"`
	Backup *BackupInfo `json:"backup,omitempty"`
	// BackupsPruned are older runs' backups deleted by backup retention.
	BackupsPruned   []string  `json:"backups_pruned,omitempty"`
	PointOfNoReturn bool      `json:"point_of_no_return_passed"`
	Findings        []Finding `json:"findings,omitempty"`
	// Gates are the verify phase's metric gates, each with its threshold
	// and measured value.
	Gates         []GateResult `json:"gates,omitempty"`
	Error         string       `json:"error,omitempty"`
	RollbackError string       `json:"rollback_error,omitempty"`
	// Next is the exact command to run next (paused, failed), if any.
	Next    string `json:"next,omitempty"`
	Journal string `json:"journal,omitempty"`
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for a human.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "kongctl %s %s: %s (%s → %s)\n", r.Operation, r.RunID, strings.ToUpper(string(r.Outcome)), r.From, r.To)
	if r.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Error)
	}
	if r.RollbackError != "" {
		fmt.Fprintf(&b, "rollback error: %s\n", r.RollbackError)
	}
	b.WriteString("\ntimeline:\n")
	tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
	for _, p := range r.Timeline {
		d := p.Finished.Sub(p.Started).Round(100 * time.Millisecond)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Started.Format("15:04:05"), p.Phase, p.Status, d)
	}
	tw.Flush()
	b.WriteString("\nhosts:\n")
	tw = tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
	for _, h := range r.Hosts {
		fmt.Fprintf(tw, "  %s\t%s\t%s → %s\t%s\n", h.Name, strings.Join(h.Roles, ","), dash(h.FromVersion), dash(h.Version), h.Result)
	}
	tw.Flush()
	if w := r.Downtime; w != nil {
		secs := func(v float64) time.Duration {
			return time.Duration(v * float64(time.Second)).Round(100 * time.Millisecond)
		}
		fmt.Fprintf(&b, "\ndowntime: no node serving for %s (all stopped %s → first node serving %s)\n",
			secs(w.FleetDown), w.AllStopped.Format("15:04:05.0"), w.FirstServing.Format("15:04:05.0"))
		fmt.Fprintf(&b, "  first stop %s; first node serving after %s; all nodes serving after %s (%s)\n",
			w.Start.Format("15:04:05.0"), secs(w.FirstServingAfter), secs(w.Duration), w.End.Format("15:04:05.0"))
	}
	if r.Order != "" {
		fmt.Fprintf(&b, "order: %s\n", r.Order)
	}
	if r.Backup != nil {
		fmt.Fprintf(&b, "backup: %s (sha256 %s, %d bytes)", r.Backup.Path, r.Backup.SHA256, r.Backup.Size)
		if r.Backup.Encrypted {
			fmt.Fprintf(&b, ", encrypted (age) on bastion: %s (sha256 %s), clear dump deleted", r.Backup.LocalPath, r.Backup.EncryptedSHA256)
		} else if r.Backup.LocalPath != "" {
			fmt.Fprintf(&b, ", copy on bastion: %s", r.Backup.LocalPath)
		}
		b.WriteString("\n")
	}
	if len(r.BackupsPruned) > 0 {
		fmt.Fprintf(&b, "older backups deleted (retention): %s\n", strings.Join(r.BackupsPruned, ", "))
	}
	if r.PointOfNoReturn {
		b.WriteString("point of no return (kong migrations finish) was passed: rolling back means restoring the database backup\n")
	}
	for _, g := range r.Gates {
		fmt.Fprintf(&b, "%s\n", g)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s", findingLine(f))
	}
	if r.Journal != "" {
		fmt.Fprintf(&b, "journal: %s\n", r.Journal)
	}
	if r.Next != "" {
		fmt.Fprintf(&b, "next: %s\n", r.Next)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func findingLine(f Finding) string {
	where := ""
	if f.Host != "" {
		where = " [" + f.Host + "]"
	}
	s := fmt.Sprintf("%s%s: %s\n", f.Severity, where, f.Message)
	if f.Fix != "" {
		s += "    fix: " + f.Fix + "\n"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
