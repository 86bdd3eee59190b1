package cli

import (
	"fmt"
	"io"

	"github.com/kongctl/kongctl/controller/cli/view"

	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/controller"
)

// unlockResult is unlock's --output json result.
type unlockResult struct {
	Schema  int    `json:"schema"`
	Cleared bool   `json:"cleared"`
	RunID   string `json:"run_id"`
}

func (a *app) newUnlockCmd() *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Clear the fleet lock left by a run that is no longer alive",
		Long: `Clear the fleet lock in the Kong database. kongctl never takes a lock over by
itself: a lock whose heartbeat stopped is reported by upgrade and status with
the run that holds it. Clear it only when you are sure that run is dead; the
--run you name must be the holder.`,
		Example: `  kongctl unlock -i hosts.hcl --run 20261125T204626Z-ed84b9`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runID == "" {
				return usageErrorf("--run is required: name the run that holds the lock (see kongctl status)")
			}
			req, err := a.newRequest("")
			if err != nil {
				return err
			}
			if err := controller.Unlock(cmd.Context(), req.options(), runID); err != nil {
				return WithCode(ExitFailure, err)
			}
			return writeUnlocked(req.Stdout, req.JSON, runID)
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "the run id that holds the lock")
	return cmd
}

// writeUnlocked reports the cleared lock of run runID on w, as text or as
// JSON.
func writeUnlocked(w io.Writer, asJSON bool, runID string) error {
	if asJSON {
		return view.JSON(w, unlockResult{Schema: controller.JSONSchema, Cleared: true, RunID: runID})
	}
	_, err := fmt.Fprintf(w, "fleet lock of run %s cleared\n", runID)
	return err
}
