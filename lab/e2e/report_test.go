//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/reportview"
	"github.com/kongctl/kongctl/lab/browser"
	"github.com/kongctl/kongctl/lab/labenv"
)

// requirePage loads the report page at path in headless chromium, offline:
// it loads with nothing on the console (no error, no refused load) and
// its timeline has one row per node, in order.
func requirePage(t *testing.T, path string, nodes []string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report page: %v", err)
	}
	if rest := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, ""); strings.Contains(rest, "http://") || strings.Contains(rest, "https://") {
		t.Errorf("%s refers to an external URL", path)
	}
	browser.RequireRows(t, path, reportview.RowClass, nodes)
	return string(b)
}

// Issue 19, item 2: an upgrade with --report writes its HTML page; kongctl
// report -i hosts.hcl --format html renders the same run from the journal;
// both load in a real browser with a row per node. The JSON timeline has
// each node stopped and serving again, the migrations on the migration
// node, the point of no return inside the window. A rollback on demand
// writes its own page.
func TestReportOfUpgradeInBrowser(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	out := t.TempDir()
	upPage := filepath.Join(out, "upgrade.html")
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--report", upPage)
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	page := requirePage(t, upPage, nodes)
	if !strings.Contains(page, "SUCCEEDED") || !strings.Contains(page, "sha256") {
		t.Errorf("--report page lacks the outcome or the backup's checksum")
	}

	r = e.kongctl("report", "-i", e.inv, "--format", "html")
	if r.code != 0 {
		t.Fatalf("report --format html: %s", r)
	}
	reportPage := filepath.Join(out, "report.html")
	if err := os.WriteFile(reportPage, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	requirePage(t, reportPage, nodes)

	r = e.kongctl("report", "-i", e.inv, "-o", "json")
	var doc reportview.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil {
		t.Fatalf("report -o json: %v\n%s", err, r)
	}
	tl, rep := doc.Timeline, doc.Report
	if rep.Backup == nil || rep.Backup.SHA256 == "" || tl.Window == nil || tl.PointOfNoReturn == nil ||
		tl.PointOfNoReturn.Before(tl.Window.Start) || tl.PointOfNoReturn.After(tl.Window.End) {
		t.Fatalf("backup %+v, window %+v, point of no return %v", rep.Backup, tl.Window, tl.PointOfNoReturn)
	}
	for _, row := range tl.Rows {
		kinds := map[string]reportview.Span{}
		for _, s := range row.Spans {
			if s.Status != "ok" || s.End.Before(s.Start) || s.Start.Before(tl.Start) || s.End.After(tl.End) {
				t.Errorf("%s: span %+v (timeline %s → %s)", row.Host, s, tl.Start, tl.End)
			}
			kinds[s.Kind] = s
		}
		down, ok := kinds[reportview.KindDown]
		if !ok || down.Seconds() <= 0 || down.Start.Before(tl.Window.Start) || down.End.After(tl.Window.End.Add(time.Millisecond)) {
			t.Errorf("%s: not-serving span %+v outside the window %+v", row.Host, down, tl.Window)
		}
		for _, k := range []string{reportview.KindStop, reportview.KindInstall, reportview.KindStart} {
			if _, ok := kinds[k]; !ok {
				t.Errorf("%s: no %s span: %+v", row.Host, k, row.Spans)
			}
		}
		_, up := kinds[reportview.KindMigrateUp]
		_, fin := kinds[reportview.KindMigrateFinish]
		if mig := row.Host == rep.MigrationHost; row.Migration != mig || up != mig || fin != mig {
			t.Errorf("%s (migration node %s): migrations up %v, finish %v", row.Host, rep.MigrationHost, up, fin)
		}
	}

	rbPage := filepath.Join(out, "rollback.html")
	r = e.kongctl("rollback", "-i", e.inv, "--yes", "--report", rbPage)
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	page = requirePage(t, rbPage, nodes)
	if !strings.Contains(page, "kongctl rollback") || !strings.Contains(page, "bar rollback ok") {
		t.Errorf("rollback page lacks the rollback or its steps")
	}
}
