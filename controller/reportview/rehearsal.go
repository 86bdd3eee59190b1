package reportview

import (
	"fmt"
	"math"

	"github.com/kongctl/kongctl/controller"
)

// rehearsalView is the rehearsal's figures (issue 23) beside this run's:
// the migrations' times on the scratch copy and in the run, Y's start on
// the rehearsal host, the smoke requests and /metrics there, and whether
// the scratch database was dropped.
type rehearsalView struct {
	Host, Scratch   string
	Passed, Dropped bool
	Failed, Error   string
	Rows            []rehearsalRow
	Smoke, Metrics  string
}

// rehearsalRow is one measurement: on the rehearsal, in this run ("-"
// when not measured), and their bars on a common scale.
type rehearsalRow struct {
	What, Rehearsal, Run string
	RehearsalW, RunW     string
	HasRehearsal, HasRun bool
}

// rehearsalOf is the report's rehearsal beside the run's timeline t (nil
// without a rehearsal). This run's migration times are the migration
// node's migrate-up and migrate-finish steps.
func rehearsalOf(r *controller.Report, t *Timeline) *rehearsalView {
	rh := r.Rehearsal
	if rh == nil {
		return nil
	}
	v := &rehearsalView{Host: rh.Host, Scratch: rh.Scratch, Passed: rh.Passed(), Dropped: rh.Dropped, Failed: rh.Failed, Error: rh.Error}
	type m struct {
		what     string
		reh, run float64
	}
	ms := []m{{"kong migrations up", rh.Up, runSeconds(t, KindMigrateUp)}, {"kong migrations finish", rh.Finish, runSeconds(t, KindMigrateFinish)},
		{"Y's start until healthy", rh.Start, 0}}
	top := 0.0
	for _, x := range ms {
		top = math.Max(top, math.Max(x.reh, x.run))
	}
	if top <= 0 {
		top = 1
	}
	scale := func(f float64) string { return num(f / top * gateBarWidth) }
	for _, x := range ms {
		row := rehearsalRow{What: x.what, Rehearsal: "-", Run: "-", HasRehearsal: x.reh > 0, HasRun: x.run > 0}
		if row.HasRehearsal {
			row.Rehearsal, row.RehearsalW = dur(x.reh), scale(x.reh)
		}
		if row.HasRun {
			row.Run, row.RunW = dur(x.run), scale(x.run)
		}
		v.Rows = append(v.Rows, row)
	}
	switch {
	case rh.Failed == "smoke":
		v.Smoke = fmt.Sprintf("failed after %d passed", rh.Smoke)
	case rh.Smoke > 0 || v.Passed:
		v.Smoke = fmt.Sprintf("%d answered as expected", rh.Smoke)
	default:
		v.Smoke = "not reached"
	}
	if rh.Start > 0 && (v.Passed || rh.Requests > 0) {
		v.Metrics = fmt.Sprintf("%.0f requests, %.0f 5xx", rh.Requests, rh.Errors)
	}
	return v
}

// runSeconds is the length of the first span of kind on the timeline's
// migration node (0: none).
func runSeconds(t *Timeline, kind string) float64 {
	for _, row := range t.Rows {
		if !row.Migration {
			continue
		}
		for _, s := range row.Spans {
			if s.Kind == kind {
				return s.Seconds()
			}
		}
	}
	return 0
}
