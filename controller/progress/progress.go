// Package progress carries the controller's events to the operator: one
// JSON object per line for --output json (on stdout), plain lines when
// stderr is not a terminal, and progress bars per phase when it is.
//
// Sinks are safe for concurrent use; the controller emits from many host
// goroutines at once. The controller redacts secrets before emitting.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Type is the kind of an event.
type Type string

const (
	RunStart   Type = "run_start"
	PhaseStart Type = "phase_start"
	PhaseEnd   Type = "phase_end"
	HostResult Type = "host_result"
	Finding    Type = "finding"
	Message    Type = "message"
	RunEnd     Type = "run_end"
	Report     Type = "report"
)

// Schema is the version of the JSON events (the "schema" field the JSON
// sink puts on every line). It changes when a field changes meaning or
// goes away; new fields do not change it.
const Schema = 1

// Event is one thing that happened in a run. Fields are optional
// depending on Type.
type Event struct {
	// Schema is set by the JSON sink (Schema).
	Schema   int       `json:"schema"`
	Time     time.Time `json:"time"`
	Type     Type      `json:"type"`
	RunID    string    `json:"run_id,omitempty"`
	Phase    string    `json:"phase,omitempty"`
	Host     string    `json:"host,omitempty"`
	Status   string    `json:"status,omitempty"` // ok, failed, skipped, running, paused, rolled-back
	Severity string    `json:"severity,omitempty"`
	Code     string    `json:"code,omitempty"`
	Message  string    `json:"message,omitempty"`
	Fix      string    `json:"fix,omitempty"`
	Error    string    `json:"error,omitempty"`
	Duration float64   `json:"duration_seconds,omitempty"`
	// Agent is, for HostResult, the agent's own time per operation.
	Agent map[string]float64 `json:"agent_seconds,omitempty"`
	// Total is the number of hosts a phase works on (PhaseStart), so bars
	// can size themselves.
	Total int `json:"total,omitempty"`
	// Payload carries the final report for Type Report.
	Payload any `json:"payload,omitempty"`
}

// Sink receives events.
type Sink interface {
	Emit(Event)
	// Close flushes; no Emit may follow.
	Close()
}

// Discard drops everything.
var Discard Sink = discard{}

type discard struct{}

func (discard) Emit(Event) {}
func (discard) Close()     {}

// JSON writes one JSON object per line.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON returns a sink writing JSON lines to w.
func NewJSON(w io.Writer) *JSON {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return &JSON{enc: e}
}

// Emit writes e as one line, with the schema version.
func (s *JSON) Emit(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Schema = Schema
	_ = s.enc.Encode(e)
}

// Close does nothing.
func (s *JSON) Close() {}

// Text writes one human line per event (no report payloads).
type Text struct {
	mu sync.Mutex
	w  io.Writer
}

// NewText returns a sink writing plain lines to w.
func NewText(w io.Writer) *Text { return &Text{w: w} }

// Emit writes e as a line.
func (s *Text) Emit(e Event) {
	line := FormatLine(e)
	if line == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(s.w, line)
}

// Close does nothing.
func (s *Text) Close() {}

// FormatLine renders e as one human line ("" for events with no text form).
func FormatLine(e Event) string {
	ts := e.Time.Format("15:04:05")
	switch e.Type {
	case RunStart:
		return fmt.Sprintf("%s run %s: %s", ts, e.RunID, e.Message)
	case PhaseStart:
		return fmt.Sprintf("%s ▶ %s %s", ts, e.Phase, e.Message)
	case PhaseEnd:
		s := fmt.Sprintf("%s %s %s %s (%.1fs)", ts, mark(e.Status), e.Phase, e.Status, e.Duration)
		if e.Error != "" {
			s += ": " + e.Error
		}
		return s
	case HostResult:
		s := fmt.Sprintf("%s   %s %s %s", ts, mark(e.Status), e.Host, e.Phase)
		if e.Message != "" {
			s += ": " + e.Message
		}
		if e.Error != "" {
			s += ": " + e.Error
		}
		return s
	case Finding:
		where := ""
		if e.Host != "" {
			where = " [" + e.Host + "]"
		}
		s := fmt.Sprintf("%s   %s%s: %s", ts, e.Severity, where, e.Message)
		if e.Fix != "" {
			s += " (fix: " + e.Fix + ")"
		}
		return s
	case Message:
		return fmt.Sprintf("%s %s", ts, e.Message)
	case RunEnd:
		s := fmt.Sprintf("%s run %s %s", ts, e.RunID, e.Status)
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	}
	return ""
}

func mark(status string) string {
	switch status {
	case "ok", "done":
		return "✓"
	case "failed":
		return "✗"
	case "skipped":
		return "-"
	case "rolled-back", "undone":
		return "↶"
	}
	return "•"
}

// Multi fans events out to several sinks.
type Multi []Sink

// Emit sends e to every sink.
func (m Multi) Emit(e Event) {
	for _, s := range m {
		s.Emit(e)
	}
}

// Close closes every sink.
func (m Multi) Close() {
	for _, s := range m {
		s.Close()
	}
}
