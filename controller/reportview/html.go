package reportview

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
)

//go:embed page.html.tmpl
var pageSource string

var pageTmpl = template.Must(template.New("page").Parse(pageSource))

// page is what the template renders.
type page struct {
	Title    string
	R        *controller.Report
	Outcome  string
	SVG      svgTimeline
	Zoom     *svgTimeline // the downtime window, enlarged
	Rows     []rowLine
	Phases   []string
	Gates    []gateView
	Window   []string
	Findings []string
	// Rehearsal is the rehearsal's figures beside the run's (nil: none).
	Rehearsal *rehearsalView
}

type rowLine struct{ Host, Text string }

// gateView is one gate: its values as text and a bar of each against a
// common scale.
type gateView struct {
	Gate, Where, Verdict                  string
	Measured, Threshold, Baseline, Detail string
	Passed                                bool
	MeasuredW, ThresholdX, BaselineX      string
	HasBaseline, Measurable               bool
	Title                                 string
}

const gateBarWidth = 220.0

func gateOf(g controller.GateResult) gateView {
	v := gateView{Gate: g.Gate, Where: "fleet", Verdict: "passed", Passed: g.Passed, Measurable: g.Measurable,
		Measured: g.Format(g.Measured), Threshold: g.Format(g.Threshold), Baseline: "-", Detail: g.Detail, Title: g.String()}
	if g.Host != "" {
		v.Where = g.Host
	}
	if !g.Passed {
		v.Verdict = "failed"
	}
	if !g.Measurable {
		v.Measured = "not measured"
	}
	top := math.Max(g.Threshold, g.Measured)
	if g.Baseline != nil {
		v.HasBaseline, v.Baseline = true, g.Format(*g.Baseline)
		top = math.Max(top, *g.Baseline)
	}
	if top <= 0 {
		top = 1
	}
	scale := func(f float64) string { return num(math.Max(0, f) / (top * 1.15) * gateBarWidth) }
	v.MeasuredW, v.ThresholdX = scale(g.Measured), scale(g.Threshold)
	if g.Baseline != nil {
		v.BaselineX = scale(*g.Baseline)
	}
	return v
}

// WriteHTML writes the run as one self-contained HTML page: inline CSS
// and SVG, no script, no external reference.
func WriteHTML(w io.Writer, r *controller.Report, recs []journal.Record) error {
	t := Build(r, recs)
	title := fmt.Sprintf("kongctl %s %s: %s", orDash(r.Operation), r.RunID, outcomeText(r.Outcome))
	p := page{Title: title, R: r, Outcome: outcomeText(r.Outcome), SVG: layout(t, title, wholeRun(t))}
	if f, ok := windowFrame(t); ok {
		z := layout(t, title+": the downtime window", f)
		p.Zoom = &z
	}
	for _, row := range t.Rows {
		p.Rows = append(p.Rows, rowLine{Host: row.Host, Text: rowText(row)})
	}
	for _, ph := range t.Phases {
		p.Phases = append(p.Phases, spanText(ph))
	}
	for _, g := range r.Gates {
		p.Gates = append(p.Gates, gateOf(g))
	}
	p.Rehearsal = rehearsalOf(r, t)
	if d := r.Downtime; d != nil {
		p.Window = []string{
			fmt.Sprintf("no node serving (fleet outage): %s, %s → %s", dur(d.FleetDown), clock(d.AllStopped), clock(d.FirstServing)),
			fmt.Sprintf("first stop %s; first node serving after %s; all nodes serving after %s (%s)", clock(d.Start), dur(d.FirstServingAfter), dur(d.Duration), clock(d.End)),
		}
	}
	for _, f := range r.Findings {
		line := string(f.Severity)
		if f.Host != "" {
			line += " [" + f.Host + "]"
		}
		line += ": " + f.Message
		if f.Fix != "" {
			line += " (fix: " + f.Fix + ")"
		}
		p.Findings = append(p.Findings, line)
	}
	if err := pageTmpl.Execute(w, p); err != nil {
		return fmt.Errorf("write html report of run %s: %w", r.RunID, err)
	}
	return nil
}

func outcomeText(o controller.Outcome) string {
	if o == "" {
		return "unfinished (no end recorded)"
	}
	return strings.ToUpper(string(o))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
