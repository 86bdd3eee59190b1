package view

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller"
)

// TestRehearsalLines: the plan says whether its migration times were
// measured on a rehearsal or are estimates, and a failed rehearsal's
// error; the report puts the rehearsal's times beside the run's.
func TestRehearsalLines(t *testing.T) {
	rh := &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_x", Up: 23.6, Finish: 13.7, Start: 2.1, Smoke: 1, Requests: 12, Dropped: true}
	var b strings.Builder
	writePlanRehearsal(&b, &controller.UpgradePlan{Rehearsal: rh})
	if got := b.String(); !strings.Contains(got, "migration times: measured on a rehearsal on spare-1 (scratch database kongctl_rehearsal_x, dropped=true)") ||
		!strings.Contains(got, "migrations up 23.6s, finish 13.7s; healthy after start in 2.1s; 1 smoke request(s) ok") {
		t.Errorf("plan with a rehearsal:\n%s", got)
	}
	b.Reset()
	writePlanRehearsal(&b, &controller.UpgradePlan{})
	if got := b.String(); !strings.Contains(got, "migration times: estimates") {
		t.Errorf("plan without a rehearsal:\n%s", got)
	}
	b.Reset()
	writePlanRehearsal(&b, &controller.UpgradePlan{Rehearsal: &controller.RehearsalResult{Host: "spare-1", Failed: "migrations finish", Error: "injected failure"}})
	if got := b.String(); !strings.Contains(got, "rehearsal on spare-1: FAILED at migrations finish: injected failure") {
		t.Errorf("plan with a failed rehearsal:\n%s", got)
	}

	r := &controller.Report{Rehearsal: rh, Timeline: []controller.PhaseResult{
		{Phase: "migrate-up", Started: at(10), Finished: at(35)},
		{Phase: "migrate-finish", Started: at(35), Finished: at(49.5)},
	}}
	b.Reset()
	writeReportRehearsal(&b, r)
	if got := b.String(); !strings.Contains(got, "rehearsal on spare-1: migrations up 23.6s, finish 13.7s") || !strings.Contains(got, "(this run: migrations up 25s, finish 14.5s)") {
		t.Errorf("report:\n%s", got)
	}
}

// The report's JSON (kongctl report -o json, the run's last event) keeps
// the rehearsal's figures beside the timeline of the run's phases; the
// text report puts them on one line in Report.
func TestRehearsalInReportJSONAndText(t *testing.T) {
	r := &controller.Report{RunID: "r1", Rehearsal: &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_r1", Up: 23.6, Finish: 13.7, Start: 2.1, Smoke: 1, Dropped: true},
		Timeline: []controller.PhaseResult{{Phase: "migrate-up", Started: at(10), Finished: at(35)}}}
	var b strings.Builder
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rehearsal": {`, `"host": "spare-1"`, `"up_seconds": 23.6`, `"finish_seconds": 13.7`, `"start_seconds": 2.1`, `"smoke": 1`, `"dropped": true`, `"phase": "migrate-up"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report JSON lacks %s:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := Report(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "rehearsal on spare-1: migrations up 23.6s, finish 13.7s; healthy after start in 2.1s; 1 smoke request(s) ok") ||
		!strings.Contains(b.String(), "(this run: migrations up 25s); scratch database kongctl_rehearsal_r1 dropped") {
		t.Errorf("text report:\n%s", b.String())
	}
}

// A failed rehearsal in the text report: where, why, and whether its
// scratch database is gone.
func TestFailedRehearsalInReportText(t *testing.T) {
	var b strings.Builder
	writeReportRehearsal(&b, &controller.Report{Rehearsal: &controller.RehearsalResult{Host: "spare-1", Scratch: "kongctl_rehearsal_r1", Failed: "smoke", Error: "HTTP 502"}})
	if got := b.String(); got != "rehearsal on spare-1: FAILED at smoke: HTTP 502; scratch database kongctl_rehearsal_r1 NOT dropped (kongctl unlock or the next run drops it)\n" {
		t.Errorf("got %q", got)
	}
}
