package view

import (
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller"
)

// writePlanHops lists the hops of a plan that runs several in one window:
// each hop's versions, staged package, expected durations and what its
// migrations do.
func writePlanHops(b *strings.Builder, hops []controller.PlanHop) {
	if len(hops) == 0 {
		return
	}
	tw := section(b, fmt.Sprintf("hops (%d, one window, one backup, one stop; expected on the migration node)", len(hops)))
	for i, h := range hops {
		pkg := h.Package
		if pkg == "" {
			pkg = "Y's package"
		}
		fmt.Fprintf(tw, "  %d. %s → %s\t%s\t%s\tinstall ~%.0fs, up ~%.0fs, finish ~%.0fs\n", i+1, dash(h.From), h.To, dash(h.Kind), pkg, h.Install, h.Up, h.Finish)
	}
	tw.Flush()
	for i, h := range hops {
		if h.Migrations != "" {
			fmt.Fprintf(b, "  %d. migrations: %s\n", i+1, h.Migrations)
		}
	}
}

// writeReportHops lists each hop of the run with its measured times and
// the migrations its finish completed.
func writeReportHops(b *strings.Builder, hops []controller.HopReport) {
	if len(hops) == 0 {
		return
	}
	tw := section(b, fmt.Sprintf("hops (%d, one window)", len(hops)))
	for i, h := range hops {
		state := "done"
		if !h.Done {
			state = "not finished"
		}
		fmt.Fprintf(tw, "  %d. %s → %s\tinstall %.1fs\tup %.1fs\tfinish %.1fs\t%s\t%s\n", i+1, dash(h.From), h.To, h.Install, h.Up, h.Finish, state, pendingText(h.Pending))
	}
	tw.Flush()
}

func pendingText(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return "finished: " + strings.Join(p, ", ")
}
