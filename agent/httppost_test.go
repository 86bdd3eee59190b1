package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// http.get with method POST sends its form urlencoded with the token
// (the keyring's /keyring/import), and the form's values never come back
// in the reply, even when the server echoes them.
func TestHTTPPostForm(t *testing.T) {
	a := testAgent(t)
	const data = "c2VjcmV0LWtleXJpbmctZXhwb3J0"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("Kong-Admin-Token") != testToken {
			w.WriteHeader(400)
			return
		}
		w.Write([]byte(`{"echo":"` + string(b) + `"}`))
	}))
	t.Cleanup(srv.Close)
	rep, raw := rpc(t, a, mustReq(t, agentproto.OpHTTPGet, agentproto.HTTPGetParams{URL: srv.URL + "/keyring/import", Method: "POST", Form: map[string]string{"data": data}, AdminToken: testToken}))
	res, err := agentproto.DecodeResult[agentproto.HTTPGetResult](rep)
	if err != nil || res.Status != 200 {
		t.Fatalf("POST: %+v %v", res, err)
	}
	if strings.Contains(raw, data) || !strings.Contains(res.Body, "data="+agentproto.Redacted) {
		t.Errorf("the form came back in the reply: %s", raw)
	}
	if err := (&agentproto.HTTPGetParams{URL: srv.URL, Method: "DELETE"}).Validate(); err == nil {
		t.Error("DELETE accepted")
	}
}
