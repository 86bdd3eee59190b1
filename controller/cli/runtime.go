package cli

import (
	"runtime"
	"runtime/debug"
)

// The Go runtime's settings for the controller. Each has an environment
// variable of the Go runtime's own that replaces kongctl's choice.

// softMemoryLimit bounds the controller's heap, garbage included: output
// streams (hooks printing megabytes, agent replies up to their limit)
// make short-lived garbage, and on a busy bastion the collector, paced
// only by GOGC, let the peak RSS of the same run vary from 65 to 211 MiB
// (lab/e2e TestHooks). The limit is soft (the runtime collects harder
// near it, it never fails an allocation); GOMEMLIMIT in the environment
// overrides it.
const softMemoryLimit = 150 << 20

// controllerProcs is how many goroutines run Go code at once. The
// controller waits on the network nearly all the time: every node's work
// is many short bursts (an SSH packet, an agent reply) handed between
// goroutines. With more than one P, each hand-off wakes an idle P that
// spins looking for work and finds none; at 64 lab nodes that spinning
// was a fifth of the controller's CPU (controller CPU per node 29.0-31.0
// ms with two, 23.3-23.6 ms with one, wall time unchanged: BENCHMARKS.md,
// "Investigations"). One P still moves about 1 GB/s through SSH, more
// than a bastion's uplink. GOMAXPROCS in the environment overrides it.
const controllerProcs = 1

// TuneRuntime applies the settings the environment (lookup) leaves to
// kongctl. They are the process's: cmd/kongctl calls it, not Main, which
// tests run in their own process.
func TuneRuntime(lookup func(string) (string, bool)) {
	if _, ok := lookup("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	if _, ok := lookup("GOMAXPROCS"); !ok {
		runtime.GOMAXPROCS(controllerProcs)
	}
}
