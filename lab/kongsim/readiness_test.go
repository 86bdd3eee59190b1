package kongsim

import "testing"

func TestReadiness(t *testing.T) {
	for _, tc := range []struct {
		draining, dp, db, cfg, router bool
		code                          int
		msg                           string
	}{
		{false, false, true, true, true, 200, "ready"},
		{true, false, true, true, true, 503, "draining"},
		{false, false, false, true, true, 503, "failed to connect to database"},
		// The start's first router build failed (its load timed out):
		// not ready, though the database answers.
		{false, false, true, false, false, 503, "router builds not yet complete"},
		{false, true, false, false, false, 503, "no configuration available (empty configuration present)"},
		{false, true, false, true, true, 200, "ready"},
	} {
		code, msg := readiness(tc.draining, tc.dp, tc.db, tc.cfg, tc.router)
		if code != tc.code || msg != tc.msg {
			t.Errorf("%+v: %d %q, want %d %q", tc, code, msg, tc.code, tc.msg)
		}
	}
}
