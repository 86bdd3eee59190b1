package cli

import (
	"context"

	"github.com/spf13/cobra"
)

type statusOptions struct {
	limit string
}

// statusRequest is what `kongctl status` asks of the controller.
type statusRequest struct {
	*request
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
			return runStatus(cmd.Context(), &statusRequest{request: req})
		},
	}
	a.addLimitFlag(cmd, &o.limit)
	return cmd
}

// runStatus reports the fleet's state. The controller plugs in here
// (issue #6).
func runStatus(ctx context.Context, req *statusRequest) error {
	_, _ = ctx, req
	return errNotImplemented(6)
}
