package agentproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRequestRoundTrip(t *testing.T) {
	for op, info := range Ops {
		t.Run(string(op), func(t *testing.T) {
			req, err := NewRequest(op, info.Params())
			if err != nil {
				t.Fatal(err)
			}
			req.Timeout = 90 * time.Second
			req.StepID = "step-1"
			b, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if got.Op != op || got.Timeout != req.Timeout || got.StepID != "step-1" || got.ProtocolVersion != ProtocolVersion {
				t.Fatalf("round trip: got %+v, want %+v", got, req)
			}
		})
	}
}

func TestDecodeParamsTypedAndTolerant(t *testing.T) {
	body := `{"protocol_version":2,"op":"migrations","params":{"action":"up","force":true,"lock_timeout":5000000000,"added_later":{"x":1}}}`
	req, err := DecodeRequest(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodeParams(req)
	if err != nil {
		t.Fatalf("unknown params field must be tolerated: %v", err)
	}
	mp, ok := p.(*MigrationsParams)
	if !ok || mp.Action != MigUp || !mp.Force || mp.LockTimeout != 5*time.Second {
		t.Fatalf("params = %#v", p)
	}
	// Wrong type and failed validation are errors.
	for name, body := range map[string]string{
		"wrong type":     `{"protocol_version":2,"op":"migrations","params":{"action":7}}`,
		"bad action":     `{"protocol_version":2,"op":"migrations","params":{"action":"reset"}}`,
		"db missing":     `{"protocol_version":2,"op":"db.fingerprint","params":{}}`,
		"lock no run id": `{"protocol_version":2,"op":"db.fleet_lock","params":{"action":"acquire","db":{"host":"h","user":"u","database":"d"}}}`,
	} {
		req, err := DecodeRequest(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: envelope: %v", name, err)
		}
		if _, err := DecodeParams(req); CodeOf(err) != CodeInvalid {
			t.Errorf("%s: got %v, want code %s", name, err, CodeInvalid)
		}
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	big := `{"protocol_version":2,"op":"exec","params":{"command":"` + strings.Repeat("x", MaxRequestBytes) + `"}}`
	cases := map[string]struct {
		body string
		code ErrorCode
	}{
		"empty":           {"", CodeInvalid},
		"not json":        {"hello", CodeInvalid},
		"no version":      {`{"op":"hello"}`, CodeInvalid},
		"version 1":       {`{"protocol_version":1,"op":"hello"}`, CodeProtocolMismatch},
		"version 0":       {`{"protocol_version":0,"op":"hello"}`, CodeProtocolMismatch},
		"unknown op":      {`{"protocol_version":2,"op":"rm-rf"}`, CodeInvalid},
		"no op":           {`{"protocol_version":2}`, CodeInvalid},
		"unknown field":   {`{"protocol_version":2,"op":"hello","surprise":1}`, CodeInvalid},
		"trailing data":   {`{"protocol_version":2,"op":"hello"} {"x":1}`, CodeInvalid},
		"detach no id":    {`{"protocol_version":2,"op":"hello","detach":true}`, CodeInvalid},
		"bad step id":     {`{"protocol_version":2,"op":"hello","step_id":"../etc/passwd"}`, CodeInvalid},
		"negative timout": {`{"protocol_version":2,"op":"hello","timeout":-1}`, CodeInvalid},
		"too big":         {big, CodeInvalid},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeRequest(strings.NewReader(c.body))
			if CodeOf(err) != c.code {
				t.Fatalf("got %v, want code %s", err, c.code)
			}
		})
	}
}

func TestVersionMismatchKeepsOp(t *testing.T) {
	req, err := DecodeRequest(strings.NewReader(`{"protocol_version":99,"op":"facts","params":{"kong_bin":"x"},"new_field":true}`))
	if CodeOf(err) != CodeProtocolMismatch {
		t.Fatalf("err = %v", err)
	}
	if req == nil || req.Op != OpFacts || req.ProtocolVersion != 99 {
		t.Fatalf("partial request = %+v", req)
	}
	if !errors.Is(err, &Error{Code: CodeProtocolMismatch}) {
		t.Fatal("errors.Is by code failed")
	}
}

func TestReplyRoundTripAndResult(t *testing.T) {
	res, _ := json.Marshal(HelloResult{ProtocolVersion: 1, SHA256: "abc"})
	rep := Reply{ProtocolVersion: 1, Op: OpHello, ExitStatus: 0, Duration: time.Second, Result: res, StdoutTail: "out"}
	b, _ := json.Marshal(rep)
	got, err := DecodeReply(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeResult[HelloResult](got)
	if err != nil || h.SHA256 != "abc" || got.Duration != time.Second || got.StdoutTail != "out" {
		t.Fatalf("got %+v %+v %v", got, h, err)
	}
	got.Error = &Error{Code: CodeLockHeld, Message: "held"}
	if _, err := DecodeResult[HelloResult](got); CodeOf(err) != CodeLockHeld {
		t.Fatalf("DecodeResult with error = %v", err)
	}
	if _, err := DecodeReply(strings.NewReader(`{"protocol_version":2,"op":"hello","bogus":1}`)); err == nil {
		t.Fatal("unknown reply field accepted")
	}
	if _, err := DecodeReply(strings.NewReader("  \n")); err == nil {
		t.Fatal("empty reply accepted")
	}
}

func TestValidStepID(t *testing.T) {
	for id, want := range map[string]bool{
		"run-1.migrate_up": true, "": false, ".hidden": false, "a/b": false, "..": false,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false, "sp ace": false,
	} {
		if got := ValidStepID(id); got != want {
			t.Errorf("ValidStepID(%q) = %v, want %v", id, got, want)
		}
	}
}

// FuzzDecode: any input decodes to a request or a typed error; never a
// panic, never an error without a code.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"protocol_version":2,"op":"hello"}`))
	f.Add([]byte(`{"protocol_version":2,"op":"migrations","params":{"action":"up"}}`))
	f.Add([]byte(`{"protocol_version":2,"op":"db.backup","params":{"db":{"host":"h","user":"u","database":"d","password":"p"},"name":"b"},"detach":true,"step_id":"s"}`))
	f.Add([]byte(`{"protocol_version":2}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"protocol_version":2,"op":"attach","params":{"step_id":"x","wait":-5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if req.Op == "" || req.ProtocolVersion != ProtocolVersion {
			t.Fatalf("accepted request without op/version: %+v", req)
		}
		p, err := DecodeParams(req)
		if err != nil {
			if CodeOf(err) != CodeInvalid {
				t.Fatalf("params error not invalid_request: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil params without error")
		}
		if _, err := DecodeReply(bytes.NewReader(data)); err != nil && err.Error() == "" {
			t.Fatal("empty reply error")
		}
	})
}
