//go:build integration

package e2e

import "github.com/kongctl/kongctl/lab/labenv"

// labID is the lab the e2e tests use (0 is the rehearsal's, 2 and 3 the
// benchmarks' and the fault matrix's).
const labID = 1

// labOptions places the e2e labs on lab labID, in its default directory.
func labOptions(o labenv.Options) labenv.Options {
	o.ID = labID
	return o
}
