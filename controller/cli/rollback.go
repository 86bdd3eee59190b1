package cli

import "github.com/spf13/cobra"

func (a *app) newRollbackCmd() *cobra.Command {
	var o changeFlags
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Restore the fleet to the version and database it had before the upgrade",
		Long: `Restore the database from the verified backup of the last upgrade, reinstall
the old Kong version on every node and start it.`,
		Example: `  kongctl rollback -i hosts.hcl
  kongctl rollback -i hosts.hcl --yes
  kongctl rollback -i hosts.hcl --identity ~/.config/kongctl/backup.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkReportFile(o.report); err != nil {
				return err
			}
			req, err := a.newRequest("")
			if err != nil {
				return err
			}
			rb := o.request(req)
			if err := rb.consent("rollback"); err != nil {
				return err
			}
			return runRollback(cmd.Context(), rb)
		},
	}
	addChangeFlags(cmd, &o)
	return cmd
}

// addIdentityFlag adds --identity: the file of the age identity that
// decrypts a backup encrypted with backup.encrypt_to (the key itself is
// never a flag value).
func addIdentityFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "identity", "", "age identity `FILE` that decrypts the backup when backup.encrypt_to is set, for the database restore of a rollback (default backup.identity_file)")
	_ = cmd.MarkFlagFilename("identity")
}
