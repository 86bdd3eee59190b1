package agent

import (
	"context"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// TestHandlersMatchTheProtocol: every op of the protocol has one handler,
// taking the op's params and giving its result; the database operations
// only in the tools agent, every other op in every agent.
func TestHandlersMatchTheProtocol(t *testing.T) {
	for op, info := range agentproto.Ops {
		h, common := handlers[op]
		dh, db := dbHandlers[op]
		switch {
		case common && db:
			t.Errorf("%s: a handler in both tables", op)
			continue
		case db:
			h = dh
		case !common && (!op.Database() || HasDBOps):
			t.Errorf("%s: no handler", op)
			continue
		case !common:
			continue // the node agent refuses it first (noDBOps)
		}
		if db != op.Database() {
			t.Errorf("%s: database op %v, but in the database table %v", op, op.Database(), db)
		}
		if !h.params(info.Params()) {
			t.Errorf("%s: the handler does not take %T", op, info.Params())
		}
		if !h.result(info.Result()) {
			t.Errorf("%s: the handler does not give %T", op, info.Result())
		}
	}
	for _, table := range []map[agentproto.Op]handler{handlers, dbHandlers} {
		for op := range table {
			if _, ok := agentproto.Ops[op]; !ok {
				t.Errorf("%s: a handler for an op the protocol does not have", op)
			}
		}
	}
}

// TestHandlerRefusesOtherParams: params of another op are an internal
// error, not a panic nor another op run.
func TestHandlerRefusesOtherParams(t *testing.T) {
	a := &Agent{}
	_, err := a.dispatch(context.Background(), newOpRun(a, nil), agentproto.OpExec, &agentproto.HealthParams{})
	if agentproto.CodeOf(err) != agentproto.CodeInternal {
		t.Fatalf("exec with health params: %v, want an internal error", err)
	}
	_, err = a.dispatch(context.Background(), newOpRun(a, nil), agentproto.Op("no.such"), nil)
	if agentproto.CodeOf(err) != agentproto.CodeInternal {
		t.Fatalf("an unknown op: %v, want an internal error", err)
	}
}

// TestWithDialTimeout: a request's own timeout bounds the op, and 10s
// when it sets none (or a negative one).
func TestWithDialTimeout(t *testing.T) {
	for _, tc := range []struct{ set, want time.Duration }{{0, 10 * time.Second}, {-time.Second, 10 * time.Second}, {3 * time.Second, 3 * time.Second}} {
		ctx, cancel := withDialTimeout(context.Background(), tc.set)
		dl, ok := ctx.Deadline()
		cancel()
		if left := time.Until(dl); !ok || left > tc.want || left < tc.want-time.Second {
			t.Errorf("timeout %s: deadline in %s, want %s", tc.set, left, tc.want)
		}
	}
}
