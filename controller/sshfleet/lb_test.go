package sshfleet

import (
	"os"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// parseServers reads what HAProxy 2.6 (Debian 12) answers to
// "show stat; show servers state kong" (testdata: kong-1 drained, both
// servers down): each server's status, sessions (scur) and drain; a
// backend HAProxy does not have is an error naming it.
func TestParseServers(t *testing.T) {
	b, err := os.ReadFile("testdata/haproxy-2.6-stat-and-state.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseServers(string(b), "kong")
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.LBServer{{Name: "kong-1", Status: "DOWN", Drain: true, Weight: 1}, {Name: "kong-2", Status: "DOWN", Weight: 1}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("servers %+v, want %+v", got, want)
	}
	// 3 sessions on kong-2 (scur, the fifth column), up.
	live := strings.Replace(string(b), "kong,kong-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN", "kong,kong-2,0,0,3,5,,0,0,0,,0,,0,0,0,0,UP", 1)
	if got, err := parseServers(live, "kong"); err != nil || got[1].Sessions != 3 || got[1].Status != "UP" {
		t.Errorf("kong-2 with 3 sessions: %+v %v", got, err)
	}
	// A weight set at run time (srv_uweight, the eighth column).
	weighted := strings.Replace(string(b), "3 kong 2 kong-2 127.0.0.1 0 0 1 1", "3 kong 2 kong-2 127.0.0.1 0 0 50 1", 1)
	if got, err := parseServers(weighted, "kong"); err != nil || got[1].Weight != 50 || got[0].Weight != 1 {
		t.Errorf("kong-2 at weight 50: %+v %v", got, err)
	}
	if _, err := parseServers(string(b), "nope"); err == nil || !strings.Contains(err.Error(), `no backend "nope"`) {
		t.Errorf("unknown backend: %v", err)
	}
	if _, err := parseServers("Unknown command.\n\n", "kong"); err == nil {
		t.Error("a reply that is not show stat: no error")
	}
}
