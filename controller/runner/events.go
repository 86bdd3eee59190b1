package runner

import (
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
)

func (e *engine) emit(ev progress.Event) {
	ev.Time = e.clk.Now()
	ev.RunID = e.runID
	ev.Message = e.red.redact(ev.Message)
	ev.Error = e.red.redact(ev.Error)
	ev.Fix = e.red.redact(ev.Fix)
	e.sink.Emit(ev)
}

func (e *engine) note(format string, args ...any) {
	e.emit(progress.Event{Type: progress.Message, Message: fmt.Sprintf(format, args...)})
}

func (e *engine) find(f Finding) {
	f.Message = e.red.redact(f.Message)
	f.Fix = e.red.redact(f.Fix)
	e.mu.Lock()
	e.findings = append(e.findings, f)
	e.mu.Unlock()
	e.emit(progress.Event{Type: progress.Finding, Severity: string(f.Severity), Code: f.Code, Host: f.Host, Message: f.Message, Fix: f.Fix})
}

func (e *engine) errorFindings() []Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Finding
	for _, f := range e.findings {
		if f.Severity == SevError {
			out = append(out, f)
		}
	}
	return out
}

func (e *engine) hostResult(ph PhaseName, host string, status Result, d time.Duration, msg string, err error) {
	e.hostResultTimed(ph, host, status, e.clk.Now().Add(-d), d, nil, msg, err)
}

// hostResultTimed records host's step of ph, started at t0 and lasting d.
func (e *engine) hostResultTimed(ph PhaseName, host string, status Result, t0 time.Time, d time.Duration, agent map[string]float64, msg string, err error) {
	e.mu.Lock()
	e.hostSteps[host] = append(e.hostSteps[host], StepResult{Phase: string(ph), Status: status, Started: t0.UTC(), Duration: d.Seconds(), Agent: agent, Error: e.red.err(err)})
	e.mu.Unlock()
	e.emit(progress.Event{Type: progress.HostResult, Phase: string(ph), Host: host, Status: string(status), Message: msg, Error: e.red.err(err), Duration: d.Seconds(), Agent: agent})
}

// agentTimes snapshots the agent's times of an already connected host
// (nil when unknown).
func (e *engine) agentTimes(host string) map[string]time.Duration {
	e.mu.Lock()
	n, ok := e.nodes[host]
	e.mu.Unlock()
	if at, ok2 := n.(fleet.AgentTimed); ok && ok2 {
		return at.AgentTimes()
	}
	return nil
}

// agentDelta is what the agent spent between two snapshots, in seconds.
func agentDelta(before, after map[string]time.Duration) map[string]float64 {
	var out map[string]float64
	for op, d := range after {
		if dd := d - before[op]; dd > 0 {
			if out == nil {
				out = map[string]float64{}
			}
			out[op] = dd.Seconds()
		}
	}
	return out
}
