package runner

import (
	"strings"

	"github.com/kongctl/kongctl/controller/journal"
)

// StepKey names one journaled step. A resumed run finds what it already
// did by these keys, and a rollback what it must undo, so their text is
// the journal's format: it never changes (journals written by earlier
// versions are resumed). Each phase declares its own keys, in its file.
type StepKey string

// hostSteps is a family of per-host steps: the prefix, then the host
// ("stop/kong-1").
type hostSteps string

// of is the key of the family's step on host.
func (f hostSteps) of(host string) StepKey { return StepKey(string(f) + host) }

// has reports whether a journal record's step belongs to the family.
func (f hostSteps) has(step string) bool { return strings.HasPrefix(step, string(f)) }

// journaled is what the step helpers read: a snapshot of a journal
// (*journal.State: the prior run's) or the run's journal itself, whose
// own fold answers one step with a lookup (never a nil *journal.Journal:
// callers check e.j first).
type journaled interface {
	Status(step string) journal.Status
	Done(step string) bool
	Data(step string, v any) bool
}

var (
	_ journaled = (*journal.State)(nil)
	_ journaled = (*journal.Journal)(nil)
)

// stepDone reports whether st holds key done.
func stepDone(st journaled, key StepKey) bool { return st.Done(string(key)) }

// stepData decodes key's journaled data into v (false: none).
func stepData(st journaled, key StepKey, v any) bool { return st.Data(string(key), v) }

// stepStatus is key's last status in st ("" when never started).
func stepStatus(st journaled, key StepKey) journal.Status { return st.Status(string(key)) }
