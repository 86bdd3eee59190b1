//go:build integration

package e2e

import (
	"os"
	"strconv"

	"github.com/kongctl/kongctl/lab/labenv"
)

// labID is the lab the e2e tests use (0 is the rehearsal's, 2 and 3 the
// benchmarks' and the fault matrix's). KONGCTL_E2E_LAB_ID moves them to
// another lab (4..7), so that two developers' runs on one machine do not
// collide.
var labID = func() int {
	if s := os.Getenv("KONGCTL_E2E_LAB_ID"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		panic("KONGCTL_E2E_LAB_ID must be a number, got " + strconv.Quote(s))
	}
	return 1
}()

// labOptions places the e2e labs on lab labID, in its default directory.
func labOptions(o labenv.Options) labenv.Options {
	o.ID = labID
	return o
}
