package sshfleet

import (
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// TestAdminRequest: every Admin API call goes to the node's first
// admin_listen (Kong's default when unset) with the inventory's token in
// the header Kong reads it from.
func TestAdminRequest(t *testing.T) {
	n := &agentNode{token: "tok"}
	f := &agentproto.Facts{}
	f.Conf.AdminListen = "0.0.0.0:8444 ssl http2, 127.0.0.1:8001"
	f.Conf.RBACAuthHeader = "Kong-Admin-Token"
	p := n.adminRequest(f, "/keyring")
	if p.URL != "https://127.0.0.1:8444/keyring" || p.AdminToken != "tok" || p.TokenHeader != "Kong-Admin-Token" || p.Method != "" {
		t.Errorf("admin request: %+v", p)
	}
	if p := n.adminRequest(&agentproto.Facts{}, "/metrics"); p.URL != "http://127.0.0.1:8001/metrics" {
		t.Errorf("default admin_listen: %s", p.URL)
	}
}
