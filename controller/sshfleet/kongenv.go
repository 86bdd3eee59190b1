package sshfleet

import (
	"context"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
)

var (
	_ fleet.ServiceEnvReader = (*agentNode)(nil)
	_ fleet.KongEnvNode      = (*agentNode)(nil)
)

// ServiceEnv reads the node's Kong service environment with its values
// (the agent's service.env), where facts reads it.
func (n *agentNode) ServiceEnv(ctx context.Context) (fleet.ServiceEnv, error) {
	r, err := n.h.client().ServiceEnv(ctx, agentproto.ServiceEnvParams{KongConf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile})
	if err != nil {
		return fleet.ServiceEnv{}, err
	}
	return fleet.ServiceEnv{Source: r.Source, Vars: r.Vars}, nil
}

// WithKongEnv is a view of the node on the same connection whose kong
// commands run under the kong CLI with env as the service environment
// (the host's own is not read). It stages nothing: packages go through
// the node itself.
func (n *agentNode) WithKongEnv(env agentproto.KongEnv) fleet.Node {
	return &agentNode{h: n.h, conf: n.conf, prefix: n.prefix, manager: agentproto.ManagerKongCLI, token: n.token, staged: map[string]string{}, kongEnv: env}
}
