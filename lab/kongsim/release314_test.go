package kongsim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Enterprise 3.14 on a 3.10 database (kong-reference 6.2, the 3.10 → 3.14
// LTS pair): only the Enterprise migrations of 3.11-3.14 are new, the
// last of them with a teardown, so `up` leaves exactly one pending.
func TestEnterprise314On310Database(t *testing.T) {
	rel310 := MustRelease("3.10.0.2", EditionEnterprise)
	rel314 := MustRelease("3.14.0.0", EditionEnterprise)
	st := Classify(rel314.Catalogue("bundled"), bootstrappedRows(rel310), false)
	if len(st.New) != 1 || st.New[0].Subsystem != "enterprise" {
		t.Fatalf("new on a 3.10 database: want the enterprise subsystem alone:\n%s", FormatSections(st.New))
	}
	want := []string{"027_31000_to_31100", "028_31100_to_31200", "029_31200_to_31300", "030_31300_to_31400"}
	if got := st.New[0].Names(); !slices.Equal(got, want) {
		t.Fatalf("new enterprise migrations %v, want %v", got, want)
	}
	var td []string
	for _, m := range st.New[0].Migrations {
		if m.HasTeardown {
			td = append(td, m.Name)
		}
	}
	if !slices.Equal(td, []string{"030_31300_to_31400"}) {
		t.Fatalf("teardown migrations among new: %v", td)
	}
	if core := rel314.Catalogue("bundled")[0]; len(core.Migrations) != 24 {
		t.Fatalf("3.14 core has %d migrations, want 3.10's 24 (no public core migration after 025_390_to_3100)", len(core.Migrations))
	}
	// 3.10 on a 3.14 database ignores the names it does not know.
	if old := Classify(rel310.Catalogue("bundled"), bootstrappedRows(rel314), false); !old.UpToDate() {
		t.Fatalf("3.10 on a 3.14 database: %+v", old)
	}
	// From 3.4 (two LTS behind) 3.14 sees 3.5-3.14's migrations as new.
	if n := Count(Classify(rel314.Catalogue("bundled"), bootstrappedRows(MustRelease("3.4.3.5", EditionEnterprise)), false).New); n <= len(want) {
		t.Fatalf("3.14 on a 3.4 database: %d new", n)
	}
	if !rel314.CompatibleDP("3.10.0.2-enterprise-edition") || rel310.CompatibleDP("3.14.0.0") {
		t.Fatal("hybrid compatibility: a 3.14 CP takes 3.10 DPs, a 3.10 CP no 3.14 DP")
	}
}

// kong-reference 9.3 "EE 3.10 → 3.14: wasm, wasm_filters and
// wasm_filters_path removed": 3.14's loader drops them without a word,
// from the file and the environment alike; 3.10 keeps them.
func TestWasmPropertiesRemovedIn314(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "kong.conf")
	if err := os.WriteFile(conf, []byte("wasm = on\nwasm_filters = bundled,user\npg_host = db\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"KONG_WASM_FILTERS_PATH=/opt/filters"}
	c310, err := MustRelease("3.10.0.2", EditionEnterprise).LoadConfig(ConfigArgs{ConfPath: conf}, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"wasm", "wasm_filters", "wasm_filters_path"} {
		if c310.Get(k) == "" {
			t.Errorf("3.10.0.2 dropped %s", k)
		}
	}
	c314, err := MustRelease("3.14.0.0", EditionEnterprise).LoadConfig(ConfigArgs{ConfPath: conf}, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"wasm", "wasm_filters", "wasm_filters_path"} {
		if _, ok := c314.Values[k]; ok {
			t.Errorf("3.14.0.0 kept %s = %q", k, c314.Get(k))
		}
	}
	if c314.Get("pg_host") != "db" || len(c314.Warnings) != 0 {
		t.Errorf("3.14.0.0: pg_host %q, warnings %q", c314.Get("pg_host"), c314.Warnings)
	}
	if errs := MustRelease("3.14.0.0", EditionEnterprise).Validate(c314); len(errs) != 0 {
		t.Errorf("3.14.0.0 refuses the configuration: %q", errs)
	}
}

func TestEnterprise314CLI(t *testing.T) {
	var out bytes.Buffer
	code := Main(context.Background(), Build{Version: "3.14.0.0", Edition: EditionEnterprise}, []string{"kong", "version"}, nil,
		Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &bytes.Buffer{}})
	if code != 0 || out.String() != "Kong Enterprise 3.14.0.0\n" {
		t.Fatalf("version: %q %d", out.String(), code)
	}
	if v := MustRelease("3.14.0.0", EditionEnterprise).MetaVersion(); v != "3.14.0.0-enterprise-edition" {
		t.Fatalf("meta version %q", v)
	}
}
