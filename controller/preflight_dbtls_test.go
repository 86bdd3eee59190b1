package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/inventory"
)

// Below verify-full, plan and the upgrade's preflight warn naming what an
// attacker on the path could do and the fix; the warning never blocks.
func TestPreflightWarnsDatabaseTLSBelowVerifyFull(t *testing.T) {
	tests := []struct {
		mode string
		want string // in the message; "" = no finding
	}{
		{"", "downgrade the connection to plaintext"}, // libpq's default, prefer
		{"disable", "not encrypted"},
		{"allow", "downgrade the connection to plaintext"},
		{"prefer", "man in the middle"},
		{"require", "the server is not verified"},
		{"verify-ca", "not its host name"},
		{"verify-full", ""},
	}
	for _, tt := range tests {
		t.Run("tls_mode="+tt.mode, func(t *testing.T) {
			c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
			spec := testSpec(t, "kong-1", "kong-2")
			spec.DB.TLSMode = tt.mode
			p, err := plan(context.Background(), spec, testConfig(c))
			if err != nil {
				t.Fatal(err)
			}
			var f *Finding
			for i := range p.Findings {
				if p.Findings[i].Code == "db-tls" {
					f = &p.Findings[i]
				}
			}
			if tt.want == "" {
				if f != nil {
					t.Fatalf("verify-full warned: %+v", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("no db-tls finding in %+v", p.Findings)
			}
			if f.Severity != SevWarning || !p.Ready || f.Host != spec.ToolsHost ||
				!strings.Contains(f.Message, "below verify-full") || !strings.Contains(f.Message, tt.want) ||
				!strings.Contains(f.Fix, `tls_mode = "verify-full"`) || !strings.Contains(f.Fix, `ca_file = "FILE"`) {
				t.Errorf("ready %v, finding %+v", p.Ready, f)
			}
			var text strings.Builder
			if err := p.WriteText(&text); err != nil || !strings.Contains(text.String(), "below verify-full") {
				t.Errorf("plan text does not show the warning (%v):\n%s", err, text.String())
			}
		})
	}

	// The upgrade's preflight reports it too, and the upgrade goes on.
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	spec.DB.TLSMode = "require"
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if f := findingOf(r, "db-tls"); r.Outcome != Succeeded || f == nil || f.Severity != SevWarning {
		t.Errorf("outcome %s, finding %+v", r.Outcome, f)
	}
}

// The spec carries the inventory's database.tls_mode.
func TestSpecCarriesDatabaseTLSMode(t *testing.T) {
	for file, want := range map[string]string{"production.hcl": "verify-full", "lab.hcl": "disable", "minimal.hcl": "prefer"} {
		inv, diags := inventory.Load("../hcl/examples/" + file)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		spec, err := SpecFromInventory(inv, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if spec.DB.TLSMode != want {
			t.Errorf("%s: DB.TLSMode = %q, want %q", file, spec.DB.TLSMode, want)
		}
	}
}
