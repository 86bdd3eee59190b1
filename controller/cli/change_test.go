package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestChangeFlags: the flags upgrade and rollback share reach their
// request, and without a terminal only --yes lets the command go on.
func TestChangeFlags(t *testing.T) {
	cmd := &cobra.Command{Use: "change"}
	var f changeFlags
	addChangeFlags(cmd, &f)
	if err := cmd.ParseFlags([]string{"-y", "--identity", "/etc/kongctl/backup.key", "--report", "/tmp/run.html"}); err != nil {
		t.Fatal(err)
	}
	req := &request{Stdin: strings.NewReader("")}
	cr := f.request(req)
	if !cr.Yes || cr.ReportFile != "/tmp/run.html" || req.Identity != "/etc/kongctl/backup.key" || cr.request != req {
		t.Errorf("request: %+v (identity %q)", cr, req.Identity)
	}
	if err := cr.consent("rollback"); err != nil {
		t.Errorf("consent with --yes: %v", err)
	}
	cr.Yes = false
	err := cr.consent("rollback")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "rollback asks before it stops any node") {
		t.Errorf("consent without --yes or a terminal: %v, want a usage error naming rollback", err)
	}
}
