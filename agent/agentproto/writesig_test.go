package agentproto

import "testing"

func TestIsRuntimeTable(t *testing.T) {
	for table, want := range map[string]bool{
		"clustering_data_planes": true, "cluster_events": true, "locks": true, "ratelimiting_metrics": true,
		"sessions": true, "oauth2_tokens": true, "acme_storage": true, "vitals_stats_seconds": true,
		"vitals_codes_by_route": true, "rl_counters": true, "audit_requests": true, "license_data": true,
		"services": false, "routes": false, "plugins": false, "consumers": false, "oauth2_credentials": false,
		"keyauth_credentials": false, "schema_meta": false, "workspaces": false, "rbac_users": false, "vitals": false,
	} {
		if got := IsRuntimeTable(table); got != want {
			t.Errorf("IsRuntimeTable(%q) = %v, want %v", table, got, want)
		}
	}
}

func TestWriteSignatureParamsValidate(t *testing.T) {
	db := DBConn{Host: "h", User: "u", Database: "d"}
	if err := (&WriteSignatureParams{DB: db}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (&WriteSignatureParams{DB: db, Settle: -1}).Validate(); err == nil {
		t.Error("negative settle accepted")
	}
	if err := (&WriteSignatureParams{}).Validate(); err == nil {
		t.Error("no db accepted")
	}
}
