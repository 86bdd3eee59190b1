package runner

import (
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

func TestPreflightDiskCheckFullDisk(t *testing.T) {
	spec := testSpec(t, "kong-1", "kong-2", "kong-3")
	spec.withDefaults()
	e := newEngine(spec, nil, nil, nil, nil)
	pf := &preflightData{Facts: map[string]fleet.Facts{
		"kong-1": {DiskFreeBytes: 10 << 30},
		"kong-2": {DiskFreeBytes: 0},  // full
		"kong-3": {DiskFreeBytes: -1}, // unknown: not judged
	}}
	e.checkDisk(pf)
	var hosts []string
	for _, f := range e.findings {
		if f.Code == "disk" && f.Severity == SevError {
			hosts = append(hosts, f.Host)
		}
	}
	if len(hosts) != 1 || hosts[0] != "kong-2" {
		t.Fatalf("disk findings on %v, want only kong-2 (full disk)", hosts)
	}
}
