package reportview

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func render(t *testing.T, format string) string {
	t.Helper()
	r, recs := fixtureRun()
	var b bytes.Buffer
	if err := Write(&b, format, r, recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it); got:\n%s", name, t.Name(), got)
	}
}

func TestGoldenHTML(t *testing.T)    { golden(t, "run.html", render(t, "html")) }
func TestGoldenMermaid(t *testing.T) { golden(t, "run.mmd", render(t, "mermaid")) }

var svgRE = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

// The page refers to nothing outside itself: no URL but the SVG
// namespace, no script, no external stylesheet, image or font; and its
// Content-Security-Policy forbids any load.
func TestHTMLSelfContained(t *testing.T) {
	page := render(t, "html")
	rest := strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "<script", "<link", " src=", "url(", "@import", "//fonts", "file:"} {
		if strings.Contains(rest, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("page has no Content-Security-Policy forbidding external loads")
	}
}

// Each SVG of the page is well-formed XML; the timeline has one row per
// node in the report's order (the migration node marked), the phases row,
// the point of no return, the window and the outage bands; text escapes.
func TestHTMLTimeline(t *testing.T) {
	page := render(t, "html")
	svgs := svgRE.FindAllString(page, -1)
	if len(svgs) != 3 { // the timeline and two gate bars
		t.Fatalf("%d svg elements, want 3", len(svgs))
	}
	for i, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg %d is not well-formed XML: %v\n%s", i, err, s)
			}
		}
	}
	type g struct {
		Class string `xml:"class,attr"`
		Host  string `xml:"data-host,attr"`
		Title string `xml:"title"`
		Rects []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"rect"`
	}
	var doc struct {
		Groups []g `xml:"g"`
		Rects  []struct {
			Class string `xml:"class,attr"`
		} `xml:"rect"`
	}
	if err := xml.Unmarshal([]byte(svgs[0]), &doc); err != nil {
		t.Fatal(err)
	}
	var rows []g
	pnr := false
	for _, gr := range doc.Groups {
		switch gr.Class {
		case "node-row":
			rows = append(rows, gr)
		case "pnr":
			pnr = strings.Contains(gr.Title, "10:15:15.2")
		}
	}
	if len(rows) != 3 || rows[0].Host != "kong-1" || rows[1].Host != "kong-2" || rows[2].Host != "kong-3" {
		t.Fatalf("rows %+v, want kong-1, kong-2, kong-3", rows)
	}
	kinds := func(r g) string {
		var k []string
		for _, rc := range r.Rects {
			k = append(k, strings.Fields(rc.Class)[1])
		}
		return strings.Join(k, " ")
	}
	if got := kinds(rows[0]); got != "down stop install migrate-up migrate-finish start" {
		t.Errorf("kong-1's bars: %s", got)
	}
	if got := kinds(rows[2]); got != "down stop install start" {
		t.Errorf("kong-3's bars: %s", got)
	}
	if !strings.Contains(rows[2].Rects[0].Title, "not serving (stopped → serving) 10:15:13.5 → 10:15:21.0 (7.5s)") {
		t.Errorf("kong-3's down bar: %q", rows[2].Rects[0].Title)
	}
	if !strings.Contains(rows[0].Title, "kong-1 (migration node)") {
		t.Errorf("kong-1's row title: %q", rows[0].Title)
	}
	if !pnr {
		t.Error("no point-of-no-return marker at 10:15:15.2")
	}
	var bands []string
	for _, rc := range doc.Rects {
		bands = append(bands, rc.Class)
	}
	if strings.Join(bands, " ") != "window outage" {
		t.Errorf("bands %v, want the window and the outage", bands)
	}
	for _, want := range []string{
		"no node serving (fleet outage): 4.5s, 10:15:13.5 → 10:15:18.0",
		"<code>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</code>",
		"<code>/srv/ops/.kongctl/backups/kong-20261206T101500Z-a1b2c3-pre.dump</code>",
		"<td>max_p99_latency</td><td>kong-2</td><td>310ms</td><td>250ms</td><td>-</td><td>failed (p99 &lt;over&gt; &amp; &#34;rising&#34;)</td>",
		"<td>max_5xx_ratio</td><td>fleet</td><td>0.20%</td><td>1.00%</td><td>0.00%</td><td>passed</td>",
		"310ms &gt; 250ms &lt;b&gt;&amp;&lt;/b&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// A report without journal records (the report alone) still draws each
// node's steps from their start times.
func TestBuildFromReportSteps(t *testing.T) {
	r, _ := fixtureRun()
	r.Hosts[1].Steps = []controller.StepResult{
		{Phase: "stop", Status: "ok", Started: at(12), Duration: 1},
		{Phase: "install", Status: "ok", Started: at(13.5), Duration: 3.5},
		{Phase: "start", Status: "ok", Started: at(18), Duration: 2},
		{Phase: "verify", Status: "skipped"},
	}
	tl := Build(r, nil)
	var got []string
	for _, s := range tl.Rows[1].Spans {
		got = append(got, s.Kind+" "+s.Start.Format("05.0")+"-"+s.End.Format("05.0"))
	}
	if strings.Join(got, ", ") != "down 13.0-20.0, stop 12.0-13.0, install 13.5-17.0, start 18.0-20.0" {
		t.Errorf("kong-2's spans: %v", got)
	}
	if tl.PointOfNoReturn != nil {
		t.Errorf("point of no return %v without a migrate-finish phase", tl.PointOfNoReturn)
	}
}

// A downtime window small on the run's scale is drawn a second time,
// enlarged, with the same rows (under other classes than the timeline's
// own), the outage and the point of no return.
func TestHTMLEnlargesASmallWindow(t *testing.T) {
	r, recs := fixtureRun()
	r.Finished = at(120)
	r.Timeline[len(r.Timeline)-1].Finished = at(119)
	var b bytes.Buffer
	if err := WriteHTML(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	svgs := svgRE.FindAllString(page, -1)
	if len(svgs) != 4 || !strings.Contains(page, "<h3>The downtime window, enlarged</h3>") {
		t.Fatalf("%d svg elements, want the timeline, the window and two gates", len(svgs))
	}
	zoom := svgs[1]
	if strings.Count(zoom, `class="window-node-row" data-host=`) != 3 || strings.Contains(zoom, `class="`+RowClass+`"`) ||
		!strings.Contains(zoom, `class="pnr"`) || !strings.Contains(zoom, `class="outage"`) || !strings.Contains(zoom, ">10:15:08<") {
		t.Errorf("enlarged window:\n%s", zoom)
	}
	if strings.Count(page, `class="`+RowClass+`"`) != 3 {
		t.Errorf("%d node rows in the page, want 3", strings.Count(page, `class="`+RowClass+`"`))
	}
	if _, ok := windowFrame(Build(fixtureRun())); ok {
		t.Error("a window of 13s in a run of 30s enlarged")
	}
}

// A rolled-back run: the node serves again when X is started again
// (rollback start-x), a failed step is drawn failed, and a step started
// and never ended runs to the end of the timeline.
func TestRolledBackRun(t *testing.T) {
	hosts := []string{"kong-1", "kong-2"}
	recs := []journal.Record{{Kind: "header", Time: t0, Header: &journal.Header{RunID: "r", Started: t0, Hosts: hosts, MigrationHost: "kong-1"}}}
	add := func(key, host string, st journal.Status, sec float64) {
		recs = append(recs, journal.Record{Kind: "step", Phase: strings.Split(key, "/")[0], Step: key, Host: host, Status: st, Time: at(sec)})
	}
	add("stop/kong-1", "kong-1", journal.Started, 1)
	add("stop/kong-1", "kong-1", journal.Done, 2)
	add("stop/kong-2", "kong-2", journal.Started, 1)
	add("stop/kong-2", "kong-2", journal.Done, 2.5)
	add("migrate/up", "kong-1", journal.Started, 3)
	add("migrate/up", "kong-1", journal.Failed, 4)
	add("rollback/install-x/kong-1", "kong-1", journal.Started, 5)
	add("rollback/install-x/kong-1", "kong-1", journal.Done, 6)
	add("rollback/start-x/kong-1", "kong-1", journal.Started, 6)
	add("rollback/start-x/kong-1", "kong-1", journal.Done, 7)
	add("rollback/start-x/kong-2", "kong-2", journal.Started, 6) // never ended
	r := &controller.Report{RunID: "r", Outcome: controller.Failed, Started: t0, Finished: at(10), MigrationHost: "kong-1"}
	tl := Build(r, recs)
	got := map[string][]string{}
	for _, row := range tl.Rows {
		for _, s := range row.Spans {
			got[row.Host] = append(got[row.Host], fmt.Sprintf("%s/%s/%s %g-%g", s.Kind, s.Label, s.Status, s.Start.Sub(t0).Seconds(), s.End.Sub(t0).Seconds()))
		}
	}
	want := map[string][]string{
		"kong-1": {"down/not serving/ok 2-7", "stop/stop/ok 1-2", "migrate-up/migrations up/failed 3-4", "rollback/rollback install-x/ok 5-6", "rollback/rollback start-x/ok 6-7"},
		"kong-2": {"down/not serving/unfinished 2.5-10", "stop/stop/ok 1-2.5", "rollback/rollback start-x/unfinished 6-10"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans:\n%v\nwant\n%v", got, want)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`class="bar migrate-up failed"`, `class="bar rollback unfinished"`, "unfinished</title>", "FAILED"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("page lacks %s", s)
		}
	}
}

// An encrypted backup: the page gives the encrypted file on the bastion
// and both checksums.
func TestHTMLEncryptedBackup(t *testing.T) {
	r, recs := fixtureRun()
	r.Backup.Encrypted, r.Backup.EncryptedSHA256 = true, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	r.Backup.LocalPath += ".age"
	var b bytes.Buffer
	if err := WriteHTML(&b, r, recs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"(deleted once verified and copied)",
		"<th scope=\"row\">encrypted (age) on the bastion</th><td><code>/srv/ops/.kongctl/backups/kong-20261206T101500Z-a1b2c3-pre.dump.age</code>",
		"<th scope=\"row\">sha256 of the encrypted file</th><td><code>e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</code>",
		"<th scope=\"row\">sha256 of the dump</th><td><code>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</code>",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
