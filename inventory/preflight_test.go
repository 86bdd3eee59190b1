package inventory

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestPreflightAccept(t *testing.T) {
	inv, diags := loadKong(t, t.TempDir(), "\npreflight {\n  accept = [\"nginx_optimizations\", \"cassandra_keyspace\"]\n}\n")
	if len(diags) != 0 {
		t.Fatalf("diags: %q", diags)
	}
	if inv.Preflight == nil || !slices.Equal(inv.Preflight.Accept, []string{"nginx_optimizations", "cassandra_keyspace"}) {
		t.Fatalf("preflight = %+v", inv.Preflight)
	}
	var text bytes.Buffer
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "preflight {\n  accept = [\"nginx_optimizations\", \"cassandra_keyspace\"]\n}") {
		t.Errorf("inventory show lacks the preflight block:\n%s", text.String())
	}
	if inv, _ := loadKong(t, t.TempDir(), ""); inv.Preflight != nil {
		t.Errorf("no block: preflight = %+v", inv.Preflight)
	}
}

// Bad names are errors at the list's position (line 20, column 12).
func TestPreflightAcceptErrors(t *testing.T) {
	for _, tt := range []struct{ list, want string }{
		{`["Nginx_Optimizations"]`, "20:12 Invalid kong.conf property"},
		{`["a", "a"]`, "20:12 Duplicate property"},
		{`"nginx_optimizations"`, "20:12 "},
		{`[]`, ""},
	} {
		_, diags := loadKong(t, t.TempDir(), "\npreflight {\n  accept = "+tt.list+"\n}\n")
		switch {
		case tt.want == "" && len(diags) != 0:
			t.Errorf("%s: diags %q", tt.list, diags)
		case tt.want != "" && (len(diags) != 1 || !strings.HasPrefix(diags[0], tt.want)):
			t.Errorf("%s: want %q, got %q", tt.list, tt.want, diags)
		}
	}
	if _, diags := loadKong(t, t.TempDir(), "\npreflight {\n  acept = []\n}\n"); len(diags) != 1 || !strings.Contains(diags[0], "accept") {
		t.Errorf("misspelt attribute: %q", diags)
	}
}
