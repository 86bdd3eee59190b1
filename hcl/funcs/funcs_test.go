package hclfuncs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestFunctions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "note.txt"), []byte("  hello \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SET": "value"}
	ctx := &hcl.EvalContext{Functions: Functions(Options{
		BaseDir:   dir,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		HomeDir:   func() (string, error) { return "/home/op", nil },
	})}
	tests := []struct {
		expr string
		want cty.Value
	}{
		{`env("SET")`, cty.StringVal("value")},
		{`env("UNSET")`, cty.StringVal("")},
		{`env("UNSET", "fallback")`, cty.StringVal("fallback")},
		{`trimspace(file("note.txt"))`, cty.StringVal("hello")},
		{`fileexists("note.txt")`, cty.True},
		{`fileexists("missing.txt")`, cty.False},
		{`abspath("a/../b")`, cty.StringVal(filepath.Join(dir, "b"))},
		{`pathexpand("~/.ssh/id")`, cty.StringVal("/home/op/.ssh/id")},
		{`upper(format("%s-%d", "kong", 1))`, cty.StringVal("KONG-1")},
		{`join(",", ["a", "b"])`, cty.StringVal("a,b")},
		{`try(file("missing.txt"), "none")`, cty.StringVal("none")},
		{`startswith("kong-1", "kong")`, cty.True},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(tt.expr), "t.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got, diags := expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !got.RawEquals(tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestFileRejectsNonRegular(t *testing.T) {
	ctx := &hcl.EvalContext{Functions: Functions(Options{BaseDir: t.TempDir()})}
	for _, src := range []string{`file("/dev/zero")`, `file(".")`, `file("missing")`} {
		expr, _ := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		if _, diags := expr.Value(ctx); !diags.HasErrors() {
			t.Errorf("%s succeeded", src)
		}
	}
}
