package agent

import (
	"context"
	"fmt"
	"maps"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// serviceEnvOp reads the service's KONG_* environment as facts does
// (serviceConf), and returns it with its values, secrets included: the
// controller hands them on, in memory, to the rehearsal host's requests
// (agentproto.KongEnv). They are not registered for redaction, so the
// op's commands keep no output tails: `systemctl show` prints the
// unit's Environment= values.
func (a *Agent) serviceEnvOp(ctx context.Context, run *opRun, p *agentproto.ServiceEnvParams) (*agentproto.ServiceEnvResult, error) {
	run.stdout, run.stderr = newTailBuffer(0), newTailBuffer(0)
	_, env, _, envErr := a.serviceConf(ctx, run, svcRef{Manager: p.Manager, Unit: p.Unit, EnvFile: p.EnvFile, Prefix: p.Prefix}, p.KongConf)
	if envErr != nil {
		return nil, fmt.Errorf("read the kong service's environment: %w", envErr)
	}
	res := &agentproto.ServiceEnvResult{}
	if env != nil {
		res.Source, res.Vars, res.From = env.Source, maps.Clone(env.Vars), maps.Clone(env.From)
	}
	return res, nil
}
