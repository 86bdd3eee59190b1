package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/kongctl/kongctl/controller"
)

// Status writes the fleet's state for a human.
func Status(w io.Writer, s *controller.StatusReport) error {
	var b strings.Builder
	tw := columns(&b)
	fmt.Fprintf(tw, "HOST\tROLES\tVERSION\tRUNNING\tHEALTHY\tERROR\n")
	for _, h := range s.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", h.Name, strings.Join(h.Roles, ","), dash(h.Version), h.Running, h.Healthy, h.Error)
	}
	tw.Flush()
	switch {
	case s.Schema != nil:
		state := "up to date"
		switch {
		case s.Schema.NeedsBootstrap:
			state = "needs bootstrap"
		case len(s.Schema.Pending) > 0:
			state = "pending migrations (run `kong migrations finish`): " + strings.Join(s.Schema.Pending, ", ")
		case len(s.Schema.New) > 0:
			state = "new migrations (run `kong migrations up`): " + strings.Join(s.Schema.New, ", ")
		}
		fmt.Fprintf(&b, "\nschema (via %s): %s (list exit %d)\n", s.SchemaVia, state, s.Schema.ExitCode)
	case s.SchemaErr != "":
		fmt.Fprintf(&b, "\nschema: unknown: %s\n", s.SchemaErr)
	}
	if s.TargetDatabase != "" {
		fmt.Fprintf(&b, "dual-cluster target database: %s\n", s.TargetDatabase)
	}
	if s.Lock != nil {
		fmt.Fprintf(&b, "fleet lock: held by run %s (%s), heartbeat %s\n", s.Lock.RunID, s.Lock.Owner, s.Lock.Heartbeat.Format("2006-01-02 15:04:05"))
	} else if s.LockErr != "" {
		fmt.Fprintf(&b, "fleet lock: unknown: %s\n", s.LockErr)
	} else {
		b.WriteString("fleet lock: free\n")
	}
	if s.Agent != nil {
		fmt.Fprintf(&b, "agent: %d bytes uploaded to %d of %d hosts\n", s.Agent.UploadedBytes, s.Agent.UploadedTo, s.Agent.Hosts)
	}
	if s.LastRun != nil {
		fmt.Fprintf(&b, "last run: %s %s → %s: %s (last step: %s)\n", s.LastRun.RunID, dash(s.LastRun.From), s.LastRun.To, s.LastRun.Status, dash(s.LastRun.Last))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
