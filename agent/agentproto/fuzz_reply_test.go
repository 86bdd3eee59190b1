package agentproto

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeReply feeds the controller's side of the protocol, an agent's
// reply, with anything a broken or hostile node could send: decoding either
// fails with a message or yields a reply that survives a round trip, and
// decoding its result never panics.
func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"protocol_version":2,"op":"hello","result":{"agent_version":"1","os":"linux","arch":"amd64"}}`))
	f.Add([]byte(`{"protocol_version":2,"op":"migrations","error":{"code":"kong_failed","message":"boom"}}`))
	f.Add([]byte(`{"protocol_version":2,"op":"facts","result":null}` + "\n"))
	f.Add([]byte(`{"protocol_version":2,"op":"exec","result":{"exit_code":0,"stdout":"x"}} {}`))
	f.Add([]byte(`{"protocol_version":2,"op":"hello","unknown":1}`))
	f.Add([]byte("  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := DecodeReply(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty reply error")
			}
			return
		}
		if rep == nil {
			t.Fatal("nil reply without error")
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("accepted reply does not encode: %v", err)
		}
		again, err := DecodeReply(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("accepted reply does not decode again: %v\n%s", err, b)
		}
		if again.Op != rep.Op || again.ProtocolVersion != rep.ProtocolVersion || (again.Error == nil) != (rep.Error == nil) {
			t.Fatalf("round trip changed the reply: %+v -> %+v", rep, again)
		}
		if _, err := DecodeResult[map[string]any](rep); err != nil && err.Error() == "" {
			t.Fatal("empty result error")
		}
		if _, err := DecodeResult[HelloResult](rep); err != nil && err.Error() == "" {
			t.Fatal("empty result error")
		}
	})
}
