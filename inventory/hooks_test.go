package inventory

import "testing"

// TestHookContinueOnError: continue_on_error is read per hook and is off
// by default.
func TestHookContinueOnError(t *testing.T) {
	src := `host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}
hook "before_stop" {
  command           = "drain"
  continue_on_error = true
}
hook "after_start" {
  command = "undrain"
}
`
	inv, diags := LoadBytes("hooks.hcl", []byte(src+base))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(inv.Hooks) != 2 || !inv.Hooks[0].ContinueOnError || inv.Hooks[1].ContinueOnError {
		t.Fatalf("hooks %+v: want continue_on_error on the first only", inv.Hooks)
	}
}
