package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// execOK runs req on n; a command that exits non-zero is an error naming
// what ran, its exit code and its stderr.
func execOK(ctx context.Context, n fleet.Node, what string, req fleet.ExecRequest) (fleet.ExecResult, error) {
	r, err := n.Exec(ctx, req)
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("%s exited %d: %s", what, r.ExitCode, orDefault(strings.TrimSpace(r.Stderr), "no output"))
	}
	return r, err
}
