package agent

import (
	"context"
	"sort"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// execOp runs an operator command with /bin/sh -c. A non-zero exit is
// reported in the result, not as an error.
func (a *Agent) execOp(ctx context.Context, run *opRun, p *agentproto.ExecParams) (*agentproto.ExecResult, error) {
	var env []string
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+p.Env[k])
	}
	for k, v := range p.SecretEnv {
		env = append(env, k+"="+v)
	}
	res, err := run.exec(ctx, cmdSpec{Args: []string{"/bin/sh", "-c", p.Command}, Env: env, Dir: p.Dir})
	if err != nil {
		return nil, err
	}
	out, errt := run.tails()
	return &agentproto.ExecResult{ExitCode: res.ExitCode, StdoutTail: out, StderrTail: errt}, nil
}
