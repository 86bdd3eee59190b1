package kongver

import (
	"encoding/json"
	"testing"
)

func TestParseStrict(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"3.4.2", "3.4.2"},
		{"3.4.3.5", "3.4.3.5"},
		{"3.10.0.0", "3.10.0.0"},
		{"0.0.0", "0.0.0"},
	} {
		v, err := Parse(tt.in)
		if err != nil || v.String() != tt.want {
			t.Errorf("Parse(%q) = %s, %v; want %s", tt.in, v, err, tt.want)
		}
	}
	for _, in := range []string{"", "3", "3.4", "1.2.3.4.5", "x.4.2", "3.04.2", "-3.4.2", "+3.4.2", " 3.4.2", "3.4.2 ", "3.4.2-1",
		"Kong Enterprise 3.4.3.5", "v3.4.2", "3..4", "3.4.2.", "1234567.0.0"} {
		if v, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", in, v)
		}
	}
}

func TestParseReported(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"3.4.2", "3.4.2"},
		{"3.4.2\n", "3.4.2"},
		{"Kong Enterprise 3.9.0.0", "3.9.0.0"},
		{"Kong Enterprise: 3.4.3.5\nngx_lua: 10025\nnginx: 1021004", "3.4.3.5"},
		{"Kong: 3.4.2\nngx_lua: 10025", "3.4.2"},
		{"3.6.0.0-enterprise-edition", "3.6.0.0"},
		{"v3.4.2", "3.4.2"},
		{"3.4.2-1", "3.4.2"},
		{"3.10.0.2-1.el9", "3.10.0.2"},
		{"kong 03.04.02", "3.4.2"},
		{"build 1.2.3.4.5 then 3.4.2", "3.4.2"},
	} {
		v, err := ParseReported(tt.in)
		if err != nil || v.String() != tt.want {
			t.Errorf("ParseReported(%q) = %s, %v; want %s", tt.in, v, err, tt.want)
		}
	}
	for _, in := range []string{"", "no version here", "3.4", "lua 5.1", "Kong\n3.4.2"} {
		if v, err := ParseReported(in); err == nil {
			t.Errorf("ParseReported(%q) = %s, want an error", in, v)
		}
	}
}

// The one rule for three against four parts: a missing fourth number is
// 0, and the parts written are kept for printing.
func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"3.4.2", "3.4.2", 0},
		{"3.4.2", "3.4.2.0", 0},
		{"3.4.2.0", "3.4.2", 0},
		{"3.4.2", "3.4.2.1", -1},
		{"3.4.3.5", "3.4.3", 1},
		{"3.10.0", "3.9.3", 1},
		{"2.8.4.14", "3.4.0.0", -1},
		{"3.4.3.9", "3.4.3.10", -1},
	} {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", b, a, got, -tt.want)
		}
		if a.Equal(b) != (tt.want == 0) {
			t.Errorf("%s.Equal(%s) = %v", a, b, a.Equal(b))
		}
	}
	if s := MustParse("3.4.2.0").String(); s != "3.4.2.0" {
		t.Errorf("String keeps four parts: %s", s)
	}
	if c := MustParse("3.4.3.9").Core(); c.String() != "3.4.3" || !c.Equal(MustParse("3.4.3.1").Core()) {
		t.Errorf("Core = %s", c)
	}
	if !MustParse("3.4.3.5").FourPart() || MustParse("3.4.2").FourPart() {
		t.Error("FourPart")
	}
}

func TestSeriesAndAtLeast(t *testing.T) {
	s, err := ParseSeries("3.10")
	if err != nil || s.String() != "3.10.0" || s.Series() != "3.10" {
		t.Fatalf("ParseSeries(3.10) = %s %v", s, err)
	}
	for _, in := range []string{"3", "3.4.2", "3.x"} {
		if _, err := ParseSeries(in); err == nil {
			t.Errorf("ParseSeries(%q): want an error", in)
		}
	}
	v := MustParse("3.9.0.1")
	if !v.AtLeast(3, 9) || !v.AtLeast(2, 10) || v.AtLeast(3, 10) || v.AtLeast(4, 0) {
		t.Errorf("AtLeast on %s", v)
	}
}

func TestZeroAndText(t *testing.T) {
	var z Version
	if !z.IsZero() || z.String() != "" || MustParse("0.0.0").IsZero() {
		t.Fatal("zero")
	}
	b, err := json.Marshal(struct{ V, Z Version }{MustParse("3.4.3.5"), Version{}})
	if err != nil || string(b) != `{"V":"3.4.3.5","Z":""}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var back struct{ V, Z Version }
	if err := json.Unmarshal(b, &back); err != nil || back.V != MustParse("3.4.3.5") || !back.Z.IsZero() {
		t.Fatalf("unmarshal: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"V":"3.4"}`), &back); err == nil {
		t.Fatal("unmarshal of 3.4: want an error")
	}
}
