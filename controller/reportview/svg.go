package reportview

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// RowClass is the class of a node's row of the timeline (an SVG g element
// with the node's name in data-host), for tests in a browser.
const RowClass = "node-row"

// The timeline's geometry, in SVG user units.
const (
	svgWidth   = 1000.0
	labelWidth = 160.0
	plotRight  = 40.0
	axisTop    = 34.0
	rowHeight  = 30.0
	barInset   = 7.0
	axisBottom = 24.0
)

// svgTimeline is the timeline laid out for the page's template: every
// coordinate already computed, every text still plain (the template
// escapes it).
type svgTimeline struct {
	ID            string // prefix of its element ids
	Width, Height string
	Title, Desc   string
	PlotLeft      string
	PlotRight     string
	Ticks         []svgTick
	Bands         []svgBand // the downtime window and the fleet outage
	Lanes         []svgLane
	Marker        *svgMarker // the point of no return
}

type svgTick struct{ X, Label, Y1, Y2, TextY string }

type svgBand struct {
	Class, X, Y, W, H, Title string
}

type svgLane struct {
	Class, Host, Label, Title string
	Y, H, TextY, LineY        string
	Bars                      []svgBar
}

type svgBar struct {
	Class, X, Y, W, H, Title string
	// Text is the bar's label written on it (phases, when it fits).
	Text, TextX, TextY string
}

type svgMarker struct {
	X, Y1, Y2, TextX, TextY, Title string
}

func num(v float64) string { return fmt.Sprintf("%.1f", v) }

// clock is a time on the page: UTC, to the tenth of a second.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.0") }

// dur is a duration on the page, to the tenth of a second.
func dur(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).Round(100 * time.Millisecond).String()
}

// frame is the part of the timeline one SVG shows, and the names it
// gives its elements (a page holds the whole run and, enlarged, the
// downtime window).
type frame struct {
	From, To              time.Time
	ID                    string // prefix of the element ids
	RowClass, PhasesClass string
}

// wholeRun frames the whole timeline with the node rows tests look for.
func wholeRun(t *Timeline) frame {
	return frame{From: t.Start, To: t.End, ID: "tl", RowClass: RowClass, PhasesClass: "phase-row"}
}

// windowFrame frames the downtime window with a margin, when it is small
// on the whole run's scale (less than a third of it).
func windowFrame(t *Timeline) (frame, bool) {
	w := t.Window
	if w == nil || w.End.Sub(w.Start) <= 0 || w.End.Sub(w.Start)*3 > t.End.Sub(t.Start) {
		return frame{}, false
	}
	pad := max(w.End.Sub(w.Start)/10, 200*time.Millisecond)
	return frame{From: w.Start.Add(-pad), To: w.End.Add(pad), ID: "win", RowClass: "window-node-row", PhasesClass: "window-phase-row"}, true
}

// layout places the timeline, as much of it as f frames, on the SVG
// canvas.
func layout(t *Timeline, title string, f frame) svgTimeline {
	plotL, plotR := labelWidth, svgWidth-plotRight
	span := f.To.Sub(f.From).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(at time.Time) float64 {
		return plotL + (plotR-plotL)*math.Max(0, math.Min(1, at.Sub(f.From).Seconds()/span))
	}
	width := func(a, b time.Time) float64 { return math.Max(1.5, x(b)-x(a)) }
	inside := func(a, b time.Time) bool { return !b.Before(f.From) && !a.After(f.To) }
	lanes := 1 + len(t.Rows)
	bottom := axisTop + rowHeight*float64(lanes)
	s := svgTimeline{
		ID: f.ID, Width: num(svgWidth), Height: num(bottom + axisBottom), Title: title,
		PlotLeft: num(plotL), PlotRight: num(plotR),
		Desc: describe(t),
	}
	step := tickStep(span)
	label := "15:04:05"
	if step < time.Second {
		label = "15:04:05.0"
	}
	first := f.From.Truncate(step)
	if first.Before(f.From) {
		first = first.Add(step)
	}
	for at := first; !at.After(f.To); at = at.Add(step) {
		s.Ticks = append(s.Ticks, svgTick{X: num(x(at)), Label: at.UTC().Format(label), Y1: num(axisTop - 4), Y2: num(bottom), TextY: num(axisTop - 10)})
	}
	if w := t.Window; w != nil {
		s.Bands = append(s.Bands, svgBand{Class: "window", X: num(x(w.Start)), Y: num(axisTop), W: num(width(w.Start, w.End)), H: num(bottom - axisTop),
			Title: fmt.Sprintf("downtime window: first stop %s → all nodes serving %s (%s)", clock(w.Start), clock(w.End), dur(w.Duration))})
		if w.FleetDown > 0 {
			s.Bands = append(s.Bands, svgBand{Class: "outage", X: num(x(w.AllStopped)), Y: num(axisTop), W: num(width(w.AllStopped, w.FirstServing)), H: num(bottom - axisTop),
				Title: fmt.Sprintf("fleet outage, no node serving: %s → %s (%s)", clock(w.AllStopped), clock(w.FirstServing), dur(w.FleetDown))})
		}
	}
	lane := func(i int, class, host, label, title string, spans []Span) svgLane {
		y := axisTop + rowHeight*float64(i)
		l := svgLane{Class: class, Host: host, Label: label, Title: title, Y: num(y), H: num(rowHeight), TextY: num(y + rowHeight/2 + 4), LineY: num(y + rowHeight)}
		// A phase's name is written on its bar when it fits there, before
		// the next phase's bar begins.
		fits := func(i int) bool {
			sp := spans[i]
			end := x(sp.Start) + 6*float64(len(sp.Label)) + 6
			if sp.Kind != KindPhase || x(sp.End) < end {
				return false
			}
			for j, o := range spans {
				if j != i && x(o.Start) >= x(sp.Start) && x(o.Start) < end && o.End.After(sp.Start) {
					return false
				}
			}
			return true
		}
		for i, sp := range spans {
			if !inside(sp.Start, sp.End) {
				continue
			}
			by, bh := y+barInset, rowHeight-2*barInset
			if sp.Kind == KindDown {
				by, bh = y+2, rowHeight-4
			}
			bar := svgBar{Class: "bar " + sp.Kind + " " + sp.Status, X: num(x(sp.Start)), Y: num(by), W: num(width(sp.Start, sp.End)), H: num(bh),
				Title: spanText(sp)}
			if fits(i) {
				bar.Text, bar.TextX, bar.TextY = sp.Label, num(x(sp.Start)+3), num(y+rowHeight/2+3.5)
			}
			l.Bars = append(l.Bars, bar)
		}
		return l
	}
	s.Lanes = append(s.Lanes, lane(0, f.PhasesClass, "", "phases", "the run's phases", t.Phases))
	for i, r := range t.Rows {
		label := r.Host
		if r.Migration {
			label += " (migrations)"
		}
		s.Lanes = append(s.Lanes, lane(i+1, f.RowClass, r.Host, label, rowText(r), r.Spans))
	}
	if p := t.PointOfNoReturn; p != nil && inside(*p, *p) {
		s.Marker = &svgMarker{X: num(x(*p)), Y1: num(axisTop), Y2: num(bottom), TextX: num(x(*p) + 3), TextY: num(bottom + 16),
			Title: "point of no return (kong migrations finish) at " + clock(*p)}
	}
	return s
}

// tickStep picks a round step giving at most about ten ticks.
func tickStep(seconds float64) time.Duration {
	for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour} {
		if seconds/d.Seconds() <= 10 {
			return d
		}
	}
	return time.Duration(math.Ceil(seconds/10/3600)) * time.Hour
}

// spanText says what a bar is, for its tooltip and for screen readers.
func spanText(s Span) string {
	what := s.Label
	if s.Kind == KindDown {
		what = "not serving (stopped → serving)"
	}
	txt := fmt.Sprintf("%s %s → %s (%s)", what, clock(s.Start), clock(s.End), dur(s.Seconds()))
	if s.Status != "ok" {
		txt += " " + s.Status
	}
	return txt
}

// rowText is one node's line of the timeline as text.
func rowText(r Row) string {
	parts := make([]string, 0, len(r.Spans))
	for _, s := range r.Spans {
		parts = append(parts, spanText(s))
	}
	if len(parts) == 0 {
		parts = append(parts, "no step")
	}
	who := r.Host
	if r.Migration {
		who += " (migration node)"
	}
	return who + ": " + strings.Join(parts, "; ")
}

// describe is the whole timeline in one paragraph (the SVG's desc).
func describe(t *Timeline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Timeline from %s to %s UTC, one row per node.", clock(t.Start), clock(t.End))
	if w := t.Window; w != nil {
		fmt.Fprintf(&b, " Downtime window %s → %s; no node served for %s.", clock(w.Start), clock(w.End), dur(w.FleetDown))
	}
	if p := t.PointOfNoReturn; p != nil {
		fmt.Fprintf(&b, " Point of no return at %s.", clock(*p))
	}
	return b.String()
}
