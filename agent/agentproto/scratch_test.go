package agentproto

import "testing"

// A kept restore is a rehearsal scratch copy, or with Target a
// dual-cluster's target under a plain lower-case name; db.scratch probes
// only such names.
func TestTargetRestoreAndProbe(t *testing.T) {
	db := DBConn{Host: "db", Port: 5432, User: "kong", Database: "kong"}
	for _, tc := range []struct {
		p  VerifyRestoreParams
		ok bool
	}{
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Keep: true, Target: true}, true},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Keep: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Target: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: `kong"; drop`, Keep: true, Target: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kongctl_rehearsal_r1", Keep: true}, true},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Keep: true, Target: true, Replace: true}, true},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong", Keep: true, Target: true, Replace: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kongctl_rehearsal_r1", Keep: true, Replace: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Keep: true, Target: true, Existing: true}, true},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong_y", Keep: true, Target: true, Existing: true, Replace: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kong", Keep: true, Target: true, Existing: true}, false},
		{VerifyRestoreParams{DB: db, Path: "/b", SHA256: "x", Scratch: "kongctl_rehearsal_r1", Keep: true, Existing: true}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
	if err := (&ScratchParams{DB: db, Probe: "kong_y"}).Validate(); err != nil {
		t.Errorf("probe kong_y: %v", err)
	}
	if err := (&ScratchParams{DB: db, Probe: "Kong Y"}).Validate(); err == nil {
		t.Error("probe of a quoted name accepted")
	}
}
