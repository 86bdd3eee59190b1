package view

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller"
)

func TestHopsInPlanAndReport(t *testing.T) {
	p := &controller.UpgradePlan{From: "3.4.3.5", To: "3.14.0.1", Edition: "enterprise", Mode: "in-place", Hops: []controller.PlanHop{
		{From: "3.4.3.5", To: "3.10.0.2", Kind: "lts", Package: "kong-enterprise-edition_3.10.0.2_amd64.deb", Migrations: "core 021-025 (DDL only)", Install: 20, Up: 30, Finish: 10},
		{From: "3.10.0.2", To: "3.14.0.1", Kind: "lts", Install: 20, Up: 30, Finish: 10},
	}}
	var b bytes.Buffer
	if err := Plan(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hops (2, one window", "1. 3.4.3.5 → 3.10.0.2", "kong-enterprise-edition_3.10.0.2_amd64.deb", "install ~20s, up ~30s, finish ~10s", "2. 3.10.0.2 → 3.14.0.1", "1. migrations: core 021-025"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
	r := &controller.Report{RunID: "r", Operation: "upgrade", Outcome: controller.Succeeded, From: "3.4.3.5", To: "3.14.0.1", Started: t0, Finished: at(90), Hops: []controller.HopReport{
		{From: "3.4.3.5", To: "3.10.0.2", Install: 2.5, Up: 4.25, Finish: 1, Pending: []string{"core:016"}, Done: true},
		{From: "3.10.0.2", To: "3.14.0.1", Install: 2, Up: 3, Finish: 1, Done: false},
	}}
	b.Reset()
	if err := Report(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hops (2, one window)", "1. 3.4.3.5 → 3.10.0.2", "up 4.2s", "finished: core:016", "not finished"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report text lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Hops []struct {
			To string  `json:"to"`
			Up float64 `json:"up_seconds"`
		} `json:"hops"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Hops) != 2 || back.Hops[0].Up != 4.25 {
		t.Errorf("report JSON hops %+v (%v)", back.Hops, err)
	}
}
