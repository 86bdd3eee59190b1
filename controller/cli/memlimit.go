package cli

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit bounds the controller's heap, garbage included: output
// streams (hooks printing megabytes, agent replies up to their limit)
// make short-lived garbage, and on a busy bastion the collector, paced
// only by GOGC, let the peak RSS of the same run vary from 65 to 211 MiB
// (lab/e2e TestHooks). The limit is soft (the runtime collects harder
// near it, it never fails an allocation); GOMEMLIMIT in the environment
// overrides it.
const softMemoryLimit = 150 << 20

func setMemoryLimit() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}
