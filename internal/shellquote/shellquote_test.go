package shellquote

import (
	"os/exec"
	"testing"
)

// What sh reads back is the word quoted, whatever it holds.
func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "/var/lib/kongctl/bin", "a=b:c,d@e+f", "it's", "''", `a "b" $HOME $(id) ` + "`x`",
		"new\nline", `back\slash`, "tab\there", "*?[]", "-n", "~root", "a b", "x;rm -rf /", "é"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) = %s: sh printed %q (%v)", s, Quote(s), out, err)
		}
	}
}

func TestQuoteBareWhenSafe(t *testing.T) {
	for s, want := range map[string]string{
		"/usr/local/kong": "/usr/local/kong",
		"":                "''",
		"a b":             "'a b'",
		"it's":            `'it'\''s'`,
		"$HOME":           "'$HOME'",
		"~":               "'~'",
	} {
		if got := Quote(s); got != want {
			t.Errorf("Quote(%q) = %s, want %s", s, got, want)
		}
	}
}
