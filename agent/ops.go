package agent

import (
	"context"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// handler runs one op on its decoded params. params and result say
// whether a value is of the op's params and result types, for the test
// that holds the table to agentproto.Ops.
type handler struct {
	run    func(a *Agent, ctx context.Context, run *opRun, params any) (any, error)
	params func(any) bool
	result func(any) bool
}

// on makes the handler of an op from its method.
func on[P, R any](f func(*Agent, context.Context, *opRun, *P) (R, error)) handler {
	return handler{
		run: func(a *Agent, ctx context.Context, run *opRun, params any) (any, error) {
			p, ok := params.(*P)
			if !ok {
				return nil, agentproto.Errorf(agentproto.CodeInternal, "params %T, want %T", params, p)
			}
			return f(a, ctx, run, p)
		},
		params: func(v any) bool { _, ok := v.(*P); return ok },
		result: func(v any) bool { _, ok := v.(R); return ok },
	}
}

// onNoRun is on for an op that runs no command (nothing to record in an
// opRun).
func onNoRun[P, R any](f func(*Agent, context.Context, *P) (R, error)) handler {
	return on(func(a *Agent, ctx context.Context, _ *opRun, p *P) (R, error) { return f(a, ctx, p) })
}

// handlers are the ops every agent carries; the tools agent adds the
// database operations (dbHandlers, dbops.go).
var handlers = map[agentproto.Op]handler{
	agentproto.OpHello:          onNoRun((*Agent).helloOp),
	agentproto.OpFacts:          on((*Agent).facts),
	agentproto.OpServiceStop:    on((*Agent).serviceStop),
	agentproto.OpServiceStart:   on((*Agent).serviceStart),
	agentproto.OpHealth:         on((*Agent).health),
	agentproto.OpPackageStage:   on((*Agent).stagePackage),
	agentproto.OpPackageInstall: on((*Agent).installPackage),
	agentproto.OpPackageHold:    on((*Agent).holdPackage),
	agentproto.OpPackageRepair:  on((*Agent).repairPackages),
	agentproto.OpMigrations:     on((*Agent).migrations),
	agentproto.OpExec:           on((*Agent).execOp),
	agentproto.OpAttach:         onNoRun((*Agent).attach),
	agentproto.OpHTTPGet:        onNoRun((*Agent).httpGet),
	agentproto.OpConfCheck:      on((*Agent).confCheck),
	agentproto.OpLBHAProxy:      onNoRun((*Agent).lbHAProxy),
	agentproto.OpServiceEnv:     on((*Agent).serviceEnvOp),
}

// helloOp answers hello: what the session's greeting says.
func (a *Agent) helloOp(context.Context, *agentproto.HelloParams) (*agentproto.HelloResult, error) {
	return a.hello()
}

func (a *Agent) dispatch(ctx context.Context, run *opRun, op agentproto.Op, params any) (any, error) {
	h, ok := handlers[op]
	if !ok {
		// The database operations, absent from a node agent.
		h, ok = dbHandlers[op]
	}
	if !ok {
		return nil, agentproto.Errorf(agentproto.CodeInternal, "op %s has no handler", op)
	}
	return h.run(a, ctx, run, params)
}

// dialTimeout bounds an op that talks to one listener or socket on the
// node (http.get, lb.haproxy) when the request sets no timeout.
const dialTimeout = 10 * time.Second

// withDialTimeout is ctx bounded by timeout, or by dialTimeout when the
// request set none.
func withDialTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = dialTimeout
	}
	return context.WithTimeout(ctx, timeout)
}
