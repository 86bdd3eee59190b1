package cli

import (
	"github.com/spf13/cobra"
)

// changeFlags are the flags of the commands that stop nodes and change
// the fleet (upgrade, rollback).
type changeFlags struct {
	yes      bool
	identity string
	report   string
}

// addChangeFlags adds --yes, --identity and --report to cmd.
func addChangeFlags(cmd *cobra.Command, f *changeFlags) {
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal: without it the command stops before any host)")
	cmd.Flags().StringVar(&f.report, "report", "", reportFlagUsage)
	_ = cmd.MarkFlagFilename("report", "html")
	addIdentityFlag(cmd, &f.identity)
}

// changeRequest is what a command that changes the fleet asks of the
// controller: the request, with the flags' answers.
type changeRequest struct {
	*request
	Yes        bool   // no confirmation prompt
	ReportFile string // --report: the HTML report written at the end
}

// request wraps req, with --identity set on it, for a command that
// changes the fleet.
func (f changeFlags) request(req *request) *changeRequest {
	req.Identity = f.identity
	return &changeRequest{request: req, Yes: f.yes, ReportFile: f.report}
}

// consent refuses, before any host, an unattended command without --yes
// (request.requireConsent).
func (r *changeRequest) consent(command string) error {
	return r.requireConsent(command, r.Yes)
}
