package view

import (
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller"
)

// writePlanRehearsal says where the plan's migration times come from: the
// rehearsal's measurements, or estimates.
func writePlanRehearsal(b *strings.Builder, p *controller.UpgradePlan) {
	r := p.Rehearsal
	switch {
	case r == nil:
		b.WriteString("\nmigration times: estimates (typical durations; no rehearsal ran: a host of role \"rehearsal\" measures them on a copy of the database)\n")
	case !r.Passed():
		fmt.Fprintf(b, "\nrehearsal on %s: FAILED at %s: %s\n", r.Host, r.Failed, r.Error)
	default:
		fmt.Fprintf(b, "\nmigration times: measured on a rehearsal on %s (scratch database %s, dropped=%v)\n", r.Host, r.Scratch, r.Dropped)
		fmt.Fprintf(b, "  %s\n", rehearsalFigures(r))
	}
}

// rehearsalFigures is the rehearsal's measurements on one line.
func rehearsalFigures(r *controller.RehearsalResult) string {
	s := fmt.Sprintf("migrations up %s, finish %s", seconds(r.Up), seconds(r.Finish))
	if r.Start > 0 {
		s += fmt.Sprintf("; healthy after start in %s; %d smoke request(s) ok; /metrics: %.0f requests, %.0f 5xx", seconds(r.Start), r.Smoke, r.Requests, r.Errors)
	}
	return s
}

// writeReportRehearsal puts the rehearsal's migration times beside the
// real run's (the migrate-up and migrate-finish phases of the timeline).
func writeReportRehearsal(b *strings.Builder, r *controller.Report) {
	rh := r.Rehearsal
	if rh == nil {
		return
	}
	if !rh.Passed() {
		fmt.Fprintf(b, "rehearsal on %s: FAILED at %s: %s; %s\n", rh.Host, rh.Failed, rh.Error, scratchFate(rh))
		return
	}
	real := map[string]string{}
	for _, p := range r.Timeline {
		real[p.Phase] = seconds(p.Finished.Sub(p.Started).Seconds())
	}
	fmt.Fprintf(b, "rehearsal on %s: %s", rh.Host, rehearsalFigures(rh))
	if up, ok := real[string(controller.PhaseMigrateUp)]; ok {
		fmt.Fprintf(b, " (this run: migrations up %s", up)
		if fin, ok := real[string(controller.PhaseMigrateFinish)]; ok {
			fmt.Fprintf(b, ", finish %s", fin)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(b, "; %s\n", scratchFate(rh))
}

// scratchFate says whether the rehearsal's scratch database was dropped.
func scratchFate(rh *controller.RehearsalResult) string {
	if rh.Dropped {
		return "scratch database " + rh.Scratch + " dropped"
	}
	return "scratch database " + rh.Scratch + " NOT dropped (kongctl unlock or the next run drops it)"
}

func seconds(v float64) string {
	return time.Duration(v * float64(time.Second)).Round(100 * time.Millisecond).String()
}
