package reportview

import (
	"time"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
)

var t0 = time.Date(2026, 12, 6, 10, 15, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// fixtureRun is a 3-node upgrade as the controller journals and reports
// it: kong-1 stops first, gets Y and runs the migrations while kong-2 and
// kong-3 serve, then they stop, get Y and start.
func fixtureRun() (*controller.Report, []journal.Record) {
	hosts := []string{"kong-1", "kong-2", "kong-3"}
	recs := []journal.Record{{Kind: "header", Time: t0, Header: &journal.Header{
		RunID: "20261206T101500Z-a1b2c3", Started: t0, From: "2.8.4", To: "3.4.2", Hosts: hosts, MigrationHost: "kong-1"}}}
	step := func(phase, key, host string, from, to float64) {
		recs = append(recs,
			journal.Record{Kind: "step", Phase: phase, Step: key, Host: host, Status: journal.Started, Time: at(from)},
			journal.Record{Kind: "step", Phase: phase, Step: key, Host: host, Status: journal.Done, Time: at(to), Started: at(from)})
	}
	step("backup", "backup", "db", 2, 6)
	step("stop", "stop/kong-1", "kong-1", 8, 9)
	step("install", "install/kong-1", "kong-1", 9, 12)
	step("migrate-up", "migrate/up", "kong-1", 12.5, 15)
	recs = append(recs, journal.Record{Kind: "step", Phase: "migrate-finish", Step: "point-of-no-return", Host: "kong-1", Status: journal.Done, Time: at(15.2)})
	step("migrate-finish", "migrate/finish", "kong-1", 15.2, 16)
	step("stop", "stop/kong-2", "kong-2", 12, 13)
	step("stop", "stop/kong-3", "kong-3", 12, 13.5)
	step("start", "start/kong-1", "kong-1", 16, 18)
	step("install", "install/kong-2", "kong-2", 13.5, 17)
	step("install", "install/kong-3", "kong-3", 13.6, 17.5)
	step("start", "start/kong-2", "kong-2", 18, 20)
	step("start", "start/kong-3", "kong-3", 18, 21)
	recs = append(recs, journal.Record{Kind: "run", Status: "succeeded", Time: at(30)})
	base := 0.0
	r := &controller.Report{
		RunID: "20261206T101500Z-a1b2c3", Operation: "upgrade", Outcome: controller.Succeeded, From: "2.8.4", To: "3.4.2",
		MigrationHost: "kong-1", Started: t0, Finished: at(30), PointOfNoReturn: true,
		Timeline: []controller.PhaseResult{
			{Phase: "preflight", Status: "ok", Started: at(0), Finished: at(2)},
			{Phase: "backup", Status: "ok", Started: at(2), Finished: at(6)},
			{Phase: "window", Status: "ok", Started: at(8), Finished: at(21)},
			{Phase: "verify", Status: "ok", Started: at(21), Finished: at(29)},
		},
		Downtime: &controller.Window{Start: at(8), End: at(21), Duration: 13, AllStopped: at(13.5), FirstServing: at(18), FirstServingAfter: 10, FleetDown: 4.5},
		Backup: &fleet.BackupInfo{Path: "/var/backups/kong/kong-20261206T101500Z-a1b2c3-pre.dump", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Size: 123456, LocalPath: "/srv/ops/.kongctl/backups/kong-20261206T101500Z-a1b2c3-pre.dump", Taken: at(5)},
		Gates: []controller.GateResult{
			{Gate: "max_5xx_ratio", Threshold: 0.01, Measured: 0.002, Baseline: &base, Unit: "ratio", Passed: true, Measurable: true},
			{Gate: "max_p99_latency", Host: "kong-2", Threshold: 250, Measured: 310, Unit: "ms", Passed: false, Measurable: true, Detail: "p99 <over> & \"rising\""},
		},
		Error:   `gate max_p99_latency on kong-2: 310ms > 250ms <b>&</b>`,
		Journal: "/srv/ops/.kongctl/runs/20261206T101500Z-a1b2c3",
	}
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, controller.HostReport{Name: h, Roles: []string{"kong"}, FromVersion: "2.8.4", Version: "3.4.2", Result: "ok"})
	}
	return r, recs
}
