package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller"
)

// Plan writes the plan for a human.
func Plan(w io.Writer, p *controller.UpgradePlan) error {
	var b strings.Builder
	state := "READY"
	if !p.Ready {
		state = "NOT READY"
	}
	fmt.Fprintf(&b, "plan: %s → %s (%s, %s): %s\n", dash(p.From), p.To, p.Edition, p.Mode, state)
	fmt.Fprintf(&b, "path: %s\n", p.Path.Reason)
	if len(p.Path.Chain) > 0 {
		fmt.Fprintf(&b, "  chain: %s\n", strings.Join(p.Path.Chain, ", "))
	}
	writePlanHops(&b, p.Hops) // hops.go
	tw := section(&b, "hosts")
	for _, h := range p.Hosts {
		fmt.Fprintf(tw, "  %s\t%s\t%s %s\trunning=%v\t%s\n", h.Name, strings.Join(h.Roles, ","), dash(h.Version), h.Edition, h.Running, strings.Join(h.Actions, "; "))
	}
	tw.Flush()
	writePlanDB(&b, p.Hosts)
	writePlanMigTimeouts(&b, p.MigrationTimeouts)
	writePlanRehearsal(&b, p)
	tw = section(&b, "phases")
	for _, ph := range p.Phases {
		rev := "reversible"
		if ph.PointOfNoReturn {
			rev = "POINT OF NO RETURN"
		}
		if ph.Undo != "" {
			rev += " (undo: " + ph.Undo + ")"
		}
		down := ""
		if ph.InDowntime {
			down = "downtime"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ph.Name, down, ph.Does, rev)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nexpected downtime: ~%s (worst case %s): %s\n",
		time.Duration(p.Downtime.Expected*float64(time.Second)), time.Duration(p.Downtime.Worst*float64(time.Second)), p.Downtime.Basis)
	if len(p.Findings) > 0 {
		b.WriteString("\nfindings:\n")
		for _, f := range p.Findings {
			b.WriteString(findingLine(f))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
