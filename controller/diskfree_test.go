package controller

import (
	"github.com/kongctl/kongctl/controller/fleet"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// A node whose disk is completely full reports 0 bytes free: that is a
// value, not "unknown" (fault matrix cell preflight/disk-full).
func TestMinDiskFreeFullDisk(t *testing.T) {
	tests := []struct {
		name string
		ds   []agentproto.DiskFree
		want int64
	}{
		{"none reported", nil, -1},
		{"all failed", []agentproto.DiskFree{{Path: "/x", Err: "no such file"}}, -1},
		{"full first", []agentproto.DiskFree{{Path: "/usr/local", FreeBytes: 0}, {Path: "/tmp", FreeBytes: 5 << 30}}, 0},
		{"full later", []agentproto.DiskFree{{Path: "/tmp", FreeBytes: 5 << 30}, {Path: "/usr/local", FreeBytes: 0}}, 0},
		{"least", []agentproto.DiskFree{{Path: "/a", FreeBytes: 3 << 30}, {Path: "/b", FreeBytes: 1 << 30}, {Path: "/c", Err: "x"}}, 1 << 30},
	}
	for _, tt := range tests {
		if got := minDiskFree(tt.ds); got != tt.want {
			t.Errorf("%s: minDiskFree = %d, want %d", tt.name, got, tt.want)
		}
	}
}

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
