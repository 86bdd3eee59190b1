package reportview

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller"
)

// The HTML page keeps the rehearsal's figures beside the run's: up and
// finish on the scratch copy against the migration node's own steps, Y's
// start, the smoke requests and /metrics, the scratch database dropped;
// a failed rehearsal says where and why. A run without one has no
// section.
func TestHTMLRehearsal(t *testing.T) {
	r, recs := fixtureRun()
	r.Rehearsal = &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_20261206t101500z_a1b2c3", Up: 2.1, Finish: 0.6, Start: 1.4,
		Smoke: 2, Requests: 14, Errors: 0, Dropped: true}
	var b bytes.Buffer
	if err := WriteHTML(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	i := strings.Index(page, "<h2>Rehearsal on spare-1</h2>")
	j := strings.Index(page, "<h2>Backup</h2>")
	if i < 0 || j < i {
		t.Fatalf("no rehearsal section before the backup:\n%s", page)
	}
	sec := page[i:j]
	for _, want := range []string{
		"<code>kongctl_rehearsal_20261206t101500z_a1b2c3</code>", "<strong>passed</strong>",
		"<td>kong migrations up</td><td>2.1s</td><td>2.5s</td>", // the fixture's migrate/up step: 12.5 → 15
		"<td>kong migrations finish</td><td>600ms</td><td>800ms</td>",
		"<td>Y&#39;s start until healthy</td><td>1.4s</td><td>-</td>",
		"<td>2 answered as expected</td>", "<td>14 requests, 0 5xx</td>", "<td>dropped</td>",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("rehearsal section lacks %q:\n%s", want, sec)
		}
	}
	for _, svg := range svgRE.FindAllString(sec, -1) {
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Errorf("rehearsal bar is not well-formed: %v\n%s", err, svg)
		}
	}

	r.Rehearsal = &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_x", Up: 2.1, Failed: "migrations finish",
		Error: "failed to run migration '016_280_to_300' teardown: <injected>"}
	b.Reset()
	if err := WriteHTML(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	page = b.String()
	for _, want := range []string{"FAILED at migrations finish", "teardown: &lt;injected&gt;", "<strong>not dropped</strong>", "<td>kong migrations finish</td><td>-</td>", "<td>not reached</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("failed rehearsal: page lacks %q", want)
		}
	}
	if strings.Contains(render(t, "html"), "Rehearsal on") {
		t.Error("a run without a rehearsal has a rehearsal section")
	}
}

// The JSON keeps the rehearsal's figures in the report, beside the
// timeline's migration steps.
func TestJSONRehearsal(t *testing.T) {
	r, recs := fixtureRun()
	r.Rehearsal = &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_x", Up: 2.1, Finish: 0.6, Start: 1.4, Smoke: 2, Dropped: true}
	var b bytes.Buffer
	if err := WriteJSON(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Report struct {
			Rehearsal map[string]any `json:"rehearsal"`
		} `json:"report"`
		Timeline *Timeline `json:"timeline"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	rh := doc.Report.Rehearsal
	if rh["host"] != "spare-1" || rh["up_seconds"] != 2.1 || rh["finish_seconds"] != 0.6 || rh["start_seconds"] != 1.4 || rh["smoke"] != 2.0 || rh["dropped"] != true {
		t.Errorf("report's rehearsal in JSON: %v", rh)
	}
	if got := runSeconds(doc.Timeline, KindMigrateUp); got != 2.5 {
		t.Errorf("the run's migrate-up beside it: %v", got)
	}
}
