package inventory

import (
	"strings"
	"testing"
)

// TestShowOptionalAttributes: a flag is written only when set, a list
// only when it has elements, so that inventory show prints what differs
// from the defaults.
func TestShowOptionalAttributes(t *testing.T) {
	d := &Document{}
	d.flag("per_node", true)
	d.flag("continue_on_error", false)
	d.listIf("tags", []string{"edge"})
	d.listIf("order", nil)
	var out strings.Builder
	if err := d.WriteHCL(&out); err != nil {
		t.Fatal(err)
	}
	want := "per_node = true\ntags     = [\"edge\"]\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
