// Package reportview renders a run's report as a picture: a self-contained
// HTML page with an SVG timeline, a Mermaid gantt chart, or JSON of the
// same timeline. It is pure: it takes the report and the run's journal
// records (controller.LoadRun) and writes; it reaches no host.
package reportview

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
)

// Span kinds: what a bar of the timeline stands for.
const (
	KindDown          = "down" // the node not serving: stop done → serving again
	KindStop          = "stop"
	KindInstall       = "install"
	KindMigrateUp     = "migrate-up"
	KindMigrateFinish = "migrate-finish"
	KindStart         = "start"
	KindRollback      = "rollback"
	KindHook          = "hook"
	KindOther         = "other"
	KindPhase         = "phase"
)

// Span is one bar of the timeline.
type Span struct {
	Kind   string    `json:"kind"`
	Label  string    `json:"label"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Status string    `json:"status"` // ok, failed, unfinished
}

// Seconds is the span's length.
func (s Span) Seconds() float64 { return s.End.Sub(s.Start).Seconds() }

// Row is one node of the fleet on the timeline.
type Row struct {
	Host      string `json:"host"`
	Migration bool   `json:"migration_node,omitempty"`
	Spans     []Span `json:"spans"`
}

// Timeline is the run drawn over time.
type Timeline struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Phases []Span    `json:"phases"`
	Rows   []Row     `json:"rows"`
	// PointOfNoReturn is when `kong migrations finish` was committed to
	// (nil: not passed).
	PointOfNoReturn *time.Time `json:"point_of_no_return,omitempty"`
	// Window is the report's downtime window (first stop → all serving),
	// with the fleet outage (no node serving) inside it.
	Window *controller.Window `json:"window,omitempty"`
}

// Build lays the run out over time: one row per host of the report, from
// the journal's step records (each step's start and end), or from the
// report's host steps when there are no records.
func Build(r *controller.Report, recs []journal.Record) *Timeline {
	t := &Timeline{Start: r.Started, End: r.Finished, Window: r.Downtime}
	for _, rec := range recs {
		t.widen(rec.Time)
	}
	for _, p := range r.Timeline {
		t.Phases = append(t.Phases, Span{Kind: KindPhase, Label: p.Phase, Start: p.Started, End: p.Finished, Status: string(p.Status)})
		t.widen(p.Started)
		t.widen(p.Finished)
	}
	hosts := make([]string, 0, len(r.Hosts))
	for _, h := range r.Hosts {
		hosts = append(hosts, h.Name)
	}
	if len(hosts) == 0 && len(recs) > 0 && recs[0].Header != nil {
		hosts = recs[0].Header.Hosts
	}
	var spans map[string][]Span
	if len(recs) > 0 {
		spans = spansFromJournal(recs, t.End)
	} else {
		spans = spansFromReport(r)
	}
	for _, h := range hosts {
		row := Row{Host: h, Migration: h == r.MigrationHost, Spans: spans[h]}
		if d, ok := downSpan(row.Spans, t.End); ok {
			row.Spans = append([]Span{d}, row.Spans...)
		}
		t.Rows = append(t.Rows, row)
	}
	t.PointOfNoReturn = pointOfNoReturn(r, recs)
	for _, row := range t.Rows {
		for _, s := range row.Spans {
			t.widen(s.Start)
			t.widen(s.End)
		}
	}
	return t
}

func (t *Timeline) widen(at time.Time) {
	if at.IsZero() {
		return
	}
	if t.Start.IsZero() || at.Before(t.Start) {
		t.Start = at
	}
	if at.After(t.End) {
		t.End = at
	}
}

// kindOf names the kind of a journal step key.
func kindOf(step string) string {
	switch {
	case strings.Contains(step, "hook/"):
		return KindHook
	case strings.HasPrefix(step, "rollback/"):
		return KindRollback
	case strings.HasPrefix(step, "stop/"):
		return KindStop
	case strings.HasPrefix(step, "install/"):
		return KindInstall
	case step == "migrate/up":
		return KindMigrateUp
	case step == "migrate/finish":
		return KindMigrateFinish
	case strings.HasPrefix(step, "start/"):
		return KindStart
	}
	return KindOther
}

// phaseKinds are the phases whose steps the timeline tells apart.
var phaseKinds = map[controller.PhaseName]string{
	controller.PhaseStop:          KindStop,
	controller.PhaseInstall:       KindInstall,
	controller.PhaseMigrateUp:     KindMigrateUp,
	controller.PhaseMigrateFinish: KindMigrateFinish,
	controller.PhaseStart:         KindStart,
}

// kindOfPhase names the kind of a report step's phase: KindOther for a
// phase not in phaseKinds.
func kindOfPhase(phase string) string {
	return cmp.Or(phaseKinds[controller.PhaseName(phase)], KindOther)
}

// labelOf is a step's label on its bar: the step key without the host.
func labelOf(rec journal.Record) string {
	l := strings.TrimSuffix(rec.Step, "/"+rec.Host)
	switch kindOf(rec.Step) {
	case KindStop, KindInstall, KindStart:
		return rec.Phase
	case KindMigrateUp:
		return "migrations up"
	case KindMigrateFinish:
		return "migrations finish"
	}
	return strings.ReplaceAll(l, "/", " ")
}

// spansFromJournal turns the step records of hosts into spans: started →
// done or failed; a step started and never ended runs to end.
func spansFromJournal(recs []journal.Record, end time.Time) map[string][]Span {
	out := map[string][]Span{}
	open := map[string]int{} // step key → index in out[host]
	for _, rec := range recs {
		if rec.Kind != "step" || rec.Host == "" {
			continue
		}
		switch rec.Status {
		case journal.Started:
			out[rec.Host] = append(out[rec.Host], Span{Kind: kindOf(rec.Step), Label: labelOf(rec), Start: rec.Time, End: end, Status: "unfinished"})
			open[rec.Step] = len(out[rec.Host]) - 1
		case journal.Done, journal.Failed:
			i, ok := open[rec.Step]
			if !ok {
				// An end without its start record: a marker, not a step.
				if rec.Started.IsZero() {
					continue
				}
				out[rec.Host] = append(out[rec.Host], Span{Kind: kindOf(rec.Step), Label: labelOf(rec), Start: rec.Started})
				i = len(out[rec.Host]) - 1
			}
			delete(open, rec.Step)
			s := &out[rec.Host][i]
			s.End, s.Status = rec.Time, "ok"
			if rec.Status == journal.Failed {
				s.Status = "failed"
			}
		}
	}
	return out
}

// spansFromReport turns the report's host steps (those with a start
// time) into spans.
func spansFromReport(r *controller.Report) map[string][]Span {
	out := map[string][]Span{}
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			if s.Started.IsZero() || s.Status == "skipped" {
				continue
			}
			end := s.Started.Add(time.Duration(s.Duration * float64(time.Second)))
			out[h.Name] = append(out[h.Name], Span{Kind: kindOfPhase(s.Phase), Label: s.Phase, Start: s.Started, End: end, Status: string(s.Status)})
		}
	}
	return out
}

// downSpan is the time the node did not serve: from its stop's end to the
// end of the first start (of Y, or of X again in a rollback) after it, or
// to end when it never served again in the run.
func downSpan(spans []Span, end time.Time) (Span, bool) {
	i := slices.IndexFunc(spans, func(s Span) bool { return s.Kind == KindStop && s.Status == "ok" })
	if i < 0 {
		return Span{}, false
	}
	d := Span{Kind: KindDown, Label: "not serving", Start: spans[i].End, End: end, Status: "unfinished"}
	for _, s := range spans[i+1:] {
		serving := s.Kind == KindStart || s.Kind == KindRollback && strings.HasPrefix(s.Label, "rollback start-x")
		if serving && s.Status == "ok" && !s.End.Before(d.Start) {
			d.End, d.Status = s.End, "ok"
			break
		}
	}
	return d, true
}

// pointOfNoReturn is when the journal marked it, else (a report without
// records) the start of the migrate-finish phase.
func pointOfNoReturn(r *controller.Report, recs []journal.Record) *time.Time {
	for _, rec := range recs {
		if rec.Kind == "step" && rec.Step == "point-of-no-return" {
			at := rec.Time
			return &at
		}
	}
	if !r.PointOfNoReturn {
		return nil
	}
	for _, p := range r.Timeline {
		if p.Phase == string(controller.PhaseMigrateFinish) {
			at := p.Started
			return &at
		}
	}
	return nil
}
