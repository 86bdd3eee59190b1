package cli

import (
	"github.com/spf13/cobra"
)

type planOptions struct {
	targetFlags
	identity string
}

func (a *app) newPlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what upgrade would do, without changing anything",
		Long: `Connect to the fleet read-only, run the preflight checks and print the
steps an upgrade would take, host by host.`,
		Example: `  kongctl plan -i hosts.hcl
  kongctl plan -i hosts.hcl --limit edge --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := a.parsePlan(o)
			if err != nil {
				return err
			}
			return runPlan(cmd.Context(), req)
		},
	}
	a.addTargetFlags(cmd, &o.targetFlags, limitAnySubset)
	addIdentityFlag(cmd, &o.identity)
	return cmd
}

// parsePlan is what `kongctl plan` asks of the controller: the request
// with --to applied to the inventory and --identity set.
func (a *app) parsePlan(o planOptions) (*request, error) {
	req, err := a.targetRequest(o.targetFlags)
	if err != nil {
		return nil, err
	}
	req.Identity = o.identity
	return req, nil
}
