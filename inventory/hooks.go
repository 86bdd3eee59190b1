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
	// PerNode runs the hook once for each Kong node, right before that
	// node stops (before_stop) or right after it serves again
	// (after_start), with the node's name and address in its environment:
	// how a load balancer drains and re-enables one node at a time.
	PerNode bool

	DeclRange hcl.Range
	onRange   hcl.Range
}

var hookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command", Required: true},
		{Name: "on"},
		{Name: "timeout"},
		{Name: "continue_on_error"},
		{Name: "per_node"},
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
	setAttr(c.Attributes, "command", &h.Command, d.nonEmpty)
	if at, ok := c.Attributes["on"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			h.On, h.onRange = v, at.Expr.Range()
		}
	}
	setAttr(c.Attributes, "timeout", &h.Timeout, d.durationOf(false))
	setAttr(c.Attributes, "continue_on_error", &h.ContinueOnError, d.boolean)
	if at, ok := c.Attributes["per_node"]; ok {
		if v, ok := d.boolean(at); ok {
			h.PerNode = v
			if v && h.Event != HookBeforeStop && h.Event != HookAfterStart {
				d.errorf(at.Expr.Range(), "Hook cannot run per node",
					"per_node applies to before_stop (right before each node stops) and after_start (right after each node serves again) hooks, not to %s.", h.Event)
			}
		}
	}
	return h
}
