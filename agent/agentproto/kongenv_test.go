package agentproto

import (
	"reflect"
	"testing"
)

// A carried environment's secrets are the values of its secret keys (long
// enough to redact); the requests carrying one hand them to the agent's
// redaction; names are checked.
func TestKongEnvSecretsAndValidate(t *testing.T) {
	e := KongEnv{"KONG_PG_PASSWORD": "pw-123456", "KONG_PG_HOST": "db-1", "KONG_LICENSE_DATA": "{lic}xyz", "KONG_PG_RO_PASSWORD": "short"}
	if got, want := e.Secrets(), []string{"pw-123456", "{lic}xyz"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets = %q, want %q", got, want)
	}
	for _, h := range []SecretHolder{&MigrationsParams{KongEnv: e}, &ServiceParams{KongEnv: e}, &HealthParams{KongEnv: e}, &FactsParams{KongEnv: e}} {
		found := false
		for _, s := range h.Secrets() {
			found = found || s == "pw-123456"
		}
		if !found {
			t.Errorf("%T does not hand its carried password to redaction", h)
		}
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []KongEnv{{"PATH": "/x"}, {"KONG_pg": "x"}, {"KONG_A": "x\ny"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	if err := (&ServiceParams{Manager: ManagerSystemd, KongEnv: e}).Validate(); err == nil {
		t.Error("a carried environment under systemd: want an error")
	}
}
