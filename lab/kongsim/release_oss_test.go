package kongsim

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

// OSS 3.9.3, the last OSS release (kong-reference 3.1): Kong/kong's
// migrations, kong_defaults and CLI are unchanged from 3.9.1 (the 3.9.2 and
// 3.9.3 changelogs are nginx security patches), so a 3.9.1 → 3.9.3 patch
// upgrade has no migration to run.
func TestOSS393(t *testing.T) {
	rel391, rel393 := MustRelease("3.9.1", EditionOSS), MustRelease("3.9.3", EditionOSS)
	if !reflect.DeepEqual(rel391.Catalogue("bundled"), rel393.Catalogue("bundled")) {
		t.Fatal("3.9.3's catalogue differs from 3.9.1's")
	}
	if !reflect.DeepEqual(rel391.Defaults(), rel393.Defaults()) {
		t.Fatal("3.9.3's defaults differ from 3.9.1's")
	}
	if st := Classify(rel393.Catalogue("bundled"), bootstrappedRows(rel391), false); !st.UpToDate() || Count(st.New) != 0 {
		t.Fatalf("3.9.3 on a 3.9.1 database: %+v", st)
	}
	run := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := Main(context.Background(), Build{Version: "3.9.3", Edition: EditionOSS}, append([]string{"kong"}, args...), nil,
			Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &bytes.Buffer{}})
		return out.String(), code
	}
	if out, code := run("version"); out != "3.9.3\n" || code != 0 {
		t.Fatalf("version: %q %d", out, code)
	}
	if rel393.PackageName() != "kong" || rel393.ServiceName() != "kong.service" {
		t.Fatalf("package %s, unit %s", rel393.PackageName(), rel393.ServiceName())
	}
}

// The OSS chain after the 3.4 LTS (controller/upgradepath: 3.4→3.5 …
// 3.8→3.9), one simulated patch per minor, the last of each series
// (Kong/kong tags 3.5.0, 3.6.1, 3.7.1, 3.8.1, 3.9.3). Each hop's new
// migrations are those of Kong's migrations/init.lua files at the two tags
// (diffed for core and every bundled plugin); opentelemetry 001_331_to_332
// arrived in 3.6.1, a backport.
func TestOSSIntermediateHops(t *testing.T) {
	hops := []struct {
		from, to string
		new      []string
		teardown []string
	}{
		{"3.4.2", "3.5.0", []string{"core/021_340_to_350"}, nil},
		{"3.5.0", "3.6.1", []string{"core/022_350_to_360", "acme/003_350_to_360", "opentelemetry/001_331_to_332", "rate-limiting/006_350_to_360", "response-ratelimiting/001_350_to_360"},
			[]string{"acme/003_350_to_360", "opentelemetry/001_331_to_332", "rate-limiting/006_350_to_360", "response-ratelimiting/001_350_to_360"}},
		{"3.6.1", "3.7.1", []string{"core/023_360_to_370", "ai-proxy/001_360_to_370"}, []string{"ai-proxy/001_360_to_370"}},
		{"3.7.1", "3.8.1", nil, nil},
		{"3.8.1", "3.9.3", []string{"core/024_380_to_390"}, nil},
	}
	for _, h := range hops {
		st := Classify(MustRelease(h.to, EditionOSS).Catalogue("bundled"), bootstrappedRows(MustRelease(h.from, EditionOSS)), false)
		var got, td []string
		for _, s := range st.New {
			for _, m := range s.Migrations {
				got = append(got, s.Subsystem+"/"+m.Name)
				if m.HasTeardown {
					td = append(td, s.Subsystem+"/"+m.Name)
				}
			}
		}
		if !reflect.DeepEqual(got, h.new) || !reflect.DeepEqual(td, h.teardown) {
			t.Errorf("%s → %s: new %v (teardown %v), want %v (teardown %v)", h.from, h.to, got, td, h.new, h.teardown)
		}
		if h.new == nil && !st.UpToDate() {
			t.Errorf("%s → %s: not up to date: %+v", h.from, h.to, st)
		}
	}
	for _, v := range []string{"3.5.0", "3.6.1", "3.7.1", "3.8.1"} {
		found := false
		for _, r := range Releases {
			found = found || r.Version == v && r.Edition == EditionOSS
		}
		if !found {
			t.Errorf("OSS %s is not in Releases", v)
		}
	}
}
