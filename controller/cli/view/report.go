package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller"
)

// Report writes the report of an upgrade or a rollback for a human.
func Report(w io.Writer, r *controller.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "kongctl %s %s: %s (%s → %s)\n", r.Operation, r.RunID, strings.ToUpper(string(r.Outcome)), r.From, r.To)
	if r.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Error)
	}
	if r.RollbackError != "" {
		fmt.Fprintf(&b, "rollback error: %s\n", r.RollbackError)
	}
	tw := section(&b, "timeline")
	for _, p := range r.Timeline {
		d := p.Finished.Sub(p.Started).Round(100 * time.Millisecond)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Started.Format("15:04:05"), p.Phase, p.Status, d)
	}
	tw.Flush()
	tw = section(&b, "hosts")
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
	writeReportHops(&b, r.Hops) // hops.go
	if r.Backup != nil {
		fmt.Fprintf(&b, "backup: %s (sha256 %s, %d bytes)", r.Backup.Path, r.Backup.SHA256, r.Backup.Size)
		if r.Backup.Encrypted {
			fmt.Fprintf(&b, ", encrypted (age) on bastion: %s (sha256 %s), clear dump deleted", r.Backup.LocalPath, r.Backup.EncryptedSHA256)
		} else if r.Backup.LocalPath != "" {
			fmt.Fprintf(&b, ", copy on bastion: %s", r.Backup.LocalPath)
		}
		b.WriteString("\n")
	}
	writeReportRehearsal(&b, r)
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
