package cli

import (
	"github.com/spf13/cobra"
)

type statusOptions struct {
	limit string
}

func (a *app) newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each node's Kong version and health, and any run in progress",
		Example: `  kongctl status -i hosts.hcl
  kongctl status -i hosts.hcl --limit tag:dc1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := a.newRequest(o.limit)
			if err != nil {
				return err
			}
			return runStatus(cmd.Context(), req)
		},
	}
	a.addLimitFlag(cmd, &o.limit, limitAnySubset)
	return cmd
}
