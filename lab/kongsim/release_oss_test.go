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
