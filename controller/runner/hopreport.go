package runner

import (
	"encoding/json"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
)

// HopReport is one hop of a multi-hop run, read from the journal: its
// versions, how long each of its steps took on the migration node, and
// the migrations `kong migrations finish` completed for it.
type HopReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Install, Up and Finish are the steps' durations in seconds (0: not
	// run, or run by an earlier attempt whose records are gone).
	Install float64 `json:"install_seconds"`
	Up      float64 `json:"up_seconds"`
	Finish  float64 `json:"finish_seconds"`
	// Pending are the migrations `up` left for `finish` (its teardowns).
	Pending []string `json:"pending_after_up,omitempty"`
	// Done is whether the hop's finish completed.
	Done bool `json:"done"`
}

// hopReports lists every hop of a multi-hop run (none for one hop), the
// last one to Y, from the journal's records.
func hopReports(recs []journal.Record, pf preflightData, to, mig string) []HopReport {
	if len(pf.Hops) == 0 {
		return nil
	}
	span := func(key StepKey) (float64, *journal.Record) {
		var d float64
		var last *journal.Record
		for i, r := range recs {
			if r.Kind == "step" && r.Step == string(key) && r.Status == journal.Done {
				if !r.Started.IsZero() {
					d = r.Time.Sub(r.Started).Round(time.Millisecond).Seconds()
				}
				last = &recs[i]
			}
		}
		return d, last
	}
	one := func(from, to string, install, up, finish StepKey) HopReport {
		hr := HopReport{From: from, To: to}
		hr.Install, _ = span(install)
		var upRec, finRec *journal.Record
		hr.Up, upRec = span(up)
		hr.Finish, finRec = span(finish)
		hr.Done = finRec != nil
		var st fleet.SchemaState
		if upRec != nil && len(upRec.Data) > 0 && json.Unmarshal(upRec.Data, &st) == nil {
			hr.Pending = st.Pending
		}
		return hr
	}
	var out []HopReport
	for _, hp := range pf.Hops {
		out = append(out, one(hp.From, hp.To, hopKey(hp.To, "install/"+mig), hopKey(hp.To, "migrate/up"), hopKey(hp.To, "migrate/finish")))
	}
	last := pf.Hops[len(pf.Hops)-1].To
	return append(out, one(last, to, installSteps.of(mig), migrateUpStep, migrateFinishStep))
}
