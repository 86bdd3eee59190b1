package cli

import (
	"github.com/spf13/cobra"
)

type planOptions struct {
	limit    string
	to       string
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
	a.addLimitFlag(cmd, &o.limit, limitAnySubset)
	addToFlag(cmd, &o.to)
	addIdentityFlag(cmd, &o.identity)
	return cmd
}

// parsePlan is what `kongctl plan` asks of the controller: the request
// with --to applied to the inventory and --identity set.
func (a *app) parsePlan(o planOptions) (*request, error) {
	to, err := parseTo(o.to)
	if err != nil {
		return nil, err
	}
	req, err := a.newRequest(o.limit)
	if err != nil {
		return nil, err
	}
	if err := applyTo(req.Inventory.Upgrade, to); err != nil {
		return nil, err
	}
	req.Identity = o.identity
	return req, nil
}
