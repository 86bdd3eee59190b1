package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

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

// removeResolvedConf removes what `kong start` wrote into prefix with
// every resolved setting in clear, the carried secrets included:
// .kong_env (0640) and the .kong_process_secrets files (kong-reference
// 9.2). After a carried environment's Kong stopped (the rehearsal host),
// nothing of it stays on the host.
func removeResolvedConf(prefix string) error {
	files, _ := filepath.Glob(filepath.Join(prefix, ".kong_process_secrets*"))
	for _, f := range append(files, filepath.Join(prefix, ".kong_env")) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s, which holds the carried environment's values: %w", f, err)
		}
	}
	return nil
}
