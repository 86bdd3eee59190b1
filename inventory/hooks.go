package inventory

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Hook events.
const (
	HookBeforeStop = "before_stop"
	HookAfterStop  = "after_stop"
	HookAfterStart = "after_start"
	HookOnRollback = "on_rollback"
)

// HookEvents lists the valid hook events, in the order they fire.
var HookEvents = []string{HookBeforeStop, HookAfterStop, HookAfterStart, HookOnRollback}

// OnBastion is the Hook.On value that runs a hook on the machine running
// kongctl.
const OnBastion = "bastion"

// Hook is an operator command run at a point of the upgrade.
type Hook struct {
	Event   string        // one of HookEvents
	Command string        // a shell command line
	On      string        // "bastion" (where kongctl runs), or a host or group name
	Timeout time.Duration // 0 = the hook timeout in timeouts
	// ContinueOnError turns a failure of the hook (exit status, timeout)
	// into a warning: the run goes on.
	ContinueOnError bool

	DeclRange hcl.Range
	onRange   hcl.Range
}

var hookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command", Required: true},
		{Name: "on"},
		{Name: "timeout"},
		{Name: "continue_on_error"},
	},
}

func (d *decoder) decodeHook(block *hcl.Block) *Hook {
	h := &Hook{Event: block.Labels[0], On: OnBastion, DeclRange: block.DefRange}
	valid := false
	for _, e := range HookEvents {
		valid = valid || e == h.Event
	}
	if !valid {
		d.errorf(block.LabelRanges[0], "Unknown hook event",
			"%q is not a hook event.%s The events are %s.", h.Event, didYouMean(h.Event, HookEvents), quoteList(HookEvents))
	}
	c := d.content(block.Body, hookSchema)
	if at, ok := c.Attributes["command"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			h.Command = v
		}
	}
	if at, ok := c.Attributes["on"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			h.On, h.onRange = v, at.Expr.Range()
		}
	}
	if at, ok := c.Attributes["timeout"]; ok {
		if v, ok := d.duration(at, false); ok {
			h.Timeout = v
		}
	}
	if at, ok := c.Attributes["continue_on_error"]; ok {
		if v, ok := d.boolean(at); ok {
			h.ContinueOnError = v
		}
	}
	return h
}
