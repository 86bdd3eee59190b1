package reportview

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/cli/view"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
)

// Formats are the renderings Write knows, in the order help lists them.
var Formats = []string{"html", "json", "mermaid", "text"}

// Write renders the run in format: html (WriteHTML), json (WriteJSON),
// mermaid (WriteMermaid) or text (the report as upgrade prints it).
func Write(w io.Writer, format string, r *controller.Report, recs []journal.Record) error {
	switch format {
	case "html":
		return WriteHTML(w, r, recs)
	case "json":
		return WriteJSON(w, r, recs)
	case "mermaid":
		return WriteMermaid(w, r, recs)
	case "text":
		return view.Report(w, r)
	}
	return fmt.Errorf("report format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// Document is the JSON rendering: the report and its timeline, with the
// schema version every kongctl JSON result carries.
type Document struct {
	Schema   int                `json:"schema"`
	Report   *controller.Report `json:"report"`
	Timeline *Timeline          `json:"timeline"`
}

// WriteJSON writes the run as one indented JSON Document.
func WriteJSON(w io.Writer, r *controller.Report, recs []journal.Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Document{Schema: controller.JSONSchema, Report: r, Timeline: Build(r, recs)}); err != nil {
		return fmt.Errorf("write json report of run %s: %w", r.RunID, err)
	}
	return nil
}

// mermaidTime is the gantt chart's dateFormat, in UTC.
const (
	mermaidDateFormat = "YYYY-MM-DD HH:mm:ss.SSS"
	mermaidGoFormat   = "2006-01-02 15:04:05.000"
)

// WriteMermaid writes the timeline as a Mermaid gantt chart: a section for
// the fleet (downtime window, outage, point of no return), one for the
// phases and one per node.
func WriteMermaid(w io.Writer, r *controller.Report, recs []journal.Record) error {
	t := Build(r, recs)
	var b strings.Builder
	id := 0
	task := func(name, tags string, from, to time.Time) {
		id++
		if tags != "" {
			tags += ", "
		}
		fmt.Fprintf(&b, "    %s :%st%d, %s, %s\n", mermaidText(name), tags, id, from.UTC().Format(mermaidGoFormat), to.UTC().Format(mermaidGoFormat))
	}
	b.WriteString("gantt\n")
	fmt.Fprintf(&b, "    title %s\n", mermaidText(fmt.Sprintf("kongctl %s %s %s (%s to %s)", orDash(r.Operation), r.RunID, outcomeText(r.Outcome), r.From, r.To)))
	fmt.Fprintf(&b, "    dateFormat %s\n    axisFormat %%H:%%M:%%S\n", mermaidDateFormat)
	if t.Window != nil || t.PointOfNoReturn != nil {
		b.WriteString("    section fleet\n")
		if w := t.Window; w != nil {
			task("downtime window", "active", w.Start, w.End)
			if w.FleetDown > 0 {
				task("no node serving", "crit", w.AllStopped, w.FirstServing)
			}
		}
		if p := t.PointOfNoReturn; p != nil {
			task("point of no return", "milestone, crit", *p, *p)
		}
	}
	if len(t.Phases) > 0 {
		b.WriteString("    section phases\n")
		for _, p := range t.Phases {
			task(p.Label, tagsOf(p), p.Start, p.End)
		}
	}
	for _, row := range t.Rows {
		name := row.Host
		if row.Migration {
			name += " (migrations)"
		}
		fmt.Fprintf(&b, "    section %s\n", mermaidText(name))
		for _, s := range row.Spans {
			label := s.Label
			if s.Kind == KindDown {
				label = "not serving"
			}
			task(label, tagsOf(s), s.Start, s.End)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write mermaid report of run %s: %w", r.RunID, err)
	}
	return nil
}

func tagsOf(s Span) string {
	switch {
	case s.Status == "failed" || s.Kind == KindDown:
		return "crit"
	case s.Status == "unfinished":
		return "active"
	}
	return "done"
}

// mermaidText keeps a name on its line and out of the gantt syntax (":"
// ends a task name, "#" and ";" start comments and entities).
func mermaidText(s string) string {
	return strings.NewReplacer(":", " ", ";", ",", "#", "", "\n", " ", "\r", " ").Replace(s)
}
