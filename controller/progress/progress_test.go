package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSON(&buf)
	s.Emit(Event{Time: time.Unix(0, 0), Type: PhaseStart, Phase: "stop", Total: 3})
	s.Emit(Event{Time: time.Unix(1, 0), Type: HostResult, Phase: "stop", Host: "kong-1", Status: "ok"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	var e Event
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Host != "kong-1" || e.Type != HostResult {
		t.Fatalf("line 2 = %q (%v)", lines[1], err)
	}
}

func TestTextAndBars(t *testing.T) {
	var tb, bb bytes.Buffer
	m := Multi{NewText(&tb), NewBars(&bb)}
	m.Emit(Event{Type: PhaseStart, Phase: "install", Total: 2})
	m.Emit(Event{Type: HostResult, Phase: "install", Host: "kong-2", Status: "failed", Error: "dpkg: exit 1"})
	m.Emit(Event{Type: PhaseEnd, Phase: "install", Status: "failed", Error: "1 of 2 hosts failed"})
	m.Close()
	if !strings.Contains(tb.String(), "✗ kong-2 install: dpkg: exit 1") {
		t.Errorf("text = %q", tb.String())
	}
	if !strings.Contains(bb.String(), "kong-2") {
		t.Errorf("bars did not print the failed host: %q", bb.String())
	}
}
