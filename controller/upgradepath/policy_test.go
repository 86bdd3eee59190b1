package upgradepath

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/kongver"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name           string
		from, to       string
		fromEd, toEd   string
		allowed        bool
		kind           Kind
		chain          string // ChainString when refused
		reasonContains string
		editionSwitch  bool
	}{
		{name: "patch", from: "3.4.0", to: "3.4.2", allowed: true, kind: KindPatch},
		{name: "ee patch 4-part", from: "3.4.3.5", to: "3.4.3.6", fromEd: "enterprise", allowed: true, kind: KindPatch},
		{name: "adjacent minor", from: "3.4.2", to: "3.5.0", allowed: true, kind: KindMinor},
		{name: "adjacent minor ee", from: "3.8.1.0", to: "3.9.0.1", fromEd: "enterprise", allowed: true, kind: KindMinor},
		{name: "lts 2.8 to 3.4", from: "2.8.4", to: "3.4.2", allowed: true, kind: KindLTS},
		{name: "lts 3.4 to 3.10 ee", from: "3.4.3.5", to: "3.10.0.1", fromEd: "enterprise", allowed: true, kind: KindLTS},
		{name: "lts 3.10 to 3.14", from: "3.10.0.2", to: "3.14.0.0", fromEd: "enterprise", allowed: true, kind: KindLTS},
		{name: "skip two minors", from: "3.4.2", to: "3.6.1", chain: "3.4→3.5, then 3.5→3.6", reasonContains: "not a supported single upgrade"},
		{name: "2.8 to 3.9 via lts", from: "2.8.4", to: "3.9.1",
			chain: "2.8→3.4 (LTS), then 3.4→3.5, 3.5→3.6, 3.6→3.7, 3.7→3.8, 3.8→3.9"},
		{name: "2.7 to 3.4", from: "2.7.0", to: "3.4.2", chain: "2.7→2.8, then 2.8→3.4 (LTS)"},

		{name: "2.8 to 3.10 ee via two lts", from: "2.8.4.1", to: "3.10.0.0", fromEd: "enterprise",
			chain: "2.8→3.4 (LTS), then 3.4→3.10 (LTS)"},
		{name: "downgrade", from: "3.4.2", to: "3.3.0", reasonContains: "downgrade"},
		{name: "same", from: "3.4.2", to: "3.4.2", reasonContains: "nothing to upgrade"},
		{name: "oss to 3.10 must switch", from: "3.9.1", to: "3.10.0.0", toEd: "oss", reasonContains: "OSS stopped after 3.9", editionSwitch: true, chain: "3.9→3.10"},
		{name: "oss to ee 3.10 switch reported", from: "3.9.1", to: "3.10.0.0", fromEd: "oss", toEd: "enterprise", allowed: true, kind: KindMinor, editionSwitch: true},
		{name: "ee to oss refused", from: "3.4.3.5", to: "3.4.3.6", fromEd: "enterprise", toEd: "oss", reasonContains: "not supported in place", editionSwitch: true},
		{name: "1.x no chain", from: "1.5.0", to: "3.4.0", reasonContains: "no chain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Check(kongver.MustParse(tt.from), kongver.MustParse(tt.to), tt.fromEd, tt.toEd)
			if d.Allowed != tt.allowed {
				t.Fatalf("Allowed = %v, want %v (reason %q)", d.Allowed, tt.allowed, d.Reason)
			}
			if tt.allowed && d.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q", d.Kind, tt.kind)
			}
			if !tt.allowed && tt.chain != "" && d.ChainString() != tt.chain {
				t.Errorf("chain = %q, want %q", d.ChainString(), tt.chain)
			}
			if tt.reasonContains != "" && !strings.Contains(d.Reason, tt.reasonContains) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reasonContains)
			}
			if !tt.allowed && tt.chain != "" && !strings.Contains(d.Reason, tt.chain) && !d.EditionSwitch {
				t.Errorf("reason %q does not name the chain %q", d.Reason, tt.chain)
			}
			if d.EditionSwitch != tt.editionSwitch {
				t.Errorf("EditionSwitch = %v, want %v", d.EditionSwitch, tt.editionSwitch)
			}
		})
	}
}

func TestCheck28To30Chain(t *testing.T) {
	d := Check(kongver.MustParse("2.8.4"), kongver.MustParse("3.0.0"), "", "")
	if d.Allowed {
		t.Fatal("2.8 → 3.0 allowed; the policy only allows patch, adjacent minor of the same major, and LTS pairs")
	}
	// 3.0 is below 3.4, so no forward chain via the LTS pair exists.
	if len(d.Chain) != 0 {
		t.Errorf("chain = %q, want none", d.ChainString())
	}
}

func TestDPCompatible(t *testing.T) {
	tests := []struct {
		cp, dp string
		ok     bool
	}{
		{"3.9.0.1", "3.9.1.0", true},
		{"3.9.0.1", "3.8.0.0", true},
		{"3.9.0.1", "3.7.2.0", true},
		{"3.9.0.1", "2.8.4.0", false},
		{"3.9.0.1", "3.10.0.0", false},
		{"3.4.2", "3.4.0", true},
		{"3.4.2", "2.8.4", false},
	}
	for _, tt := range tests {
		ok, why := DPCompatible(kongver.MustParse(tt.cp), kongver.MustParse(tt.dp))
		if ok != tt.ok {
			t.Errorf("DPCompatible(cp %s, dp %s) = %v (%s), want %v", tt.cp, tt.dp, ok, why, tt.ok)
		}
		if !ok && why == "" {
			t.Errorf("DPCompatible(cp %s, dp %s): refusal without a reason", tt.cp, tt.dp)
		}
	}
}

func TestCheckConf(t *testing.T) {
	tests := []struct {
		name     string
		conf     map[string]string
		from, to string
		keys     []string
	}{
		{"tlsv1 breaks on 3.2", map[string]string{"pg_ssl_version": "tlsv1"}, "2.8.4", "3.4.2", []string{"pg_ssl_version"}},
		{"tlsv1 fine on 3.1", map[string]string{"pg_ssl_version": "tlsv1"}, "3.0.0", "3.1.0", nil},
		{"tlsv1_2 fine", map[string]string{"pg_ssl_version": "tlsv1_2"}, "2.8.4", "3.4.2", nil},
		{"cassandra db", map[string]string{"database": "cassandra"}, "3.3.0", "3.4.0", []string{"database"}},
		{"status_listen default changes", map[string]string{}, "3.5.0", "3.6.0", []string{"status_listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckConf(tt.conf, kongver.MustParse(tt.from), kongver.MustParse(tt.to))
			var keys []string
			for _, i := range got {
				keys = append(keys, i.Key)
				if i.Fix == "" || i.Message == "" {
					t.Errorf("issue %q lacks message or fix", i.Key)
				}
			}
			if strings.Join(keys, ",") != strings.Join(tt.keys, ",") {
				t.Errorf("keys = %v, want %v", keys, tt.keys)
			}
		})
	}
}

func TestCheckMultiHop(t *testing.T) {
	d := Check(kongver.MustParse("3.4.3.5"), kongver.MustParse("3.14.0.1"), "enterprise", "enterprise")
	if d.Allowed || !d.MultiHop {
		t.Fatalf("3.4 → 3.14: Allowed=%v MultiHop=%v, want a multi-hop chain", d.Allowed, d.MultiHop)
	}
	if got := d.ChainString(); got != "3.4→3.10 (LTS), then 3.10→3.14 (LTS)" {
		t.Errorf("chain = %q", got)
	}
	if HopMigrations(d.Chain[0]) == "" {
		t.Error("no migrations described for the 3.4→3.10 hop")
	}
	// A direct jump is not multi-hop.
	if d := Check(kongver.MustParse("3.4.2"), kongver.MustParse("3.5.0"), "", ""); d.MultiHop || !d.Allowed {
		t.Errorf("3.4 → 3.5: Allowed=%v MultiHop=%v", d.Allowed, d.MultiHop)
	}
}

func TestCheckNoPathNamesNearestTarget(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"3.4.2", "3.20.0", "the nearest valid target is 3.14"},
		{"3.4.2", "4.1.0", "the nearest valid target is 3.14"},
		{"3.10.0.2", "3.4.3.5", "the nearest valid target is a 3.10.x patch release"},
	}
	for _, tt := range tests {
		d := Check(kongver.MustParse(tt.from), kongver.MustParse(tt.to), "enterprise", "enterprise")
		if d.Allowed || d.MultiHop || !strings.Contains(d.Reason, tt.want) {
			t.Errorf("%s → %s: Allowed=%v MultiHop=%v reason %q, want it to contain %q", tt.from, tt.to, d.Allowed, d.MultiHop, d.Reason, tt.want)
		}
	}
}
