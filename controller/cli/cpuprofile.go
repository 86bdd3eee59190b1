package cli

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// EnvCPUProfile, when set, names a file the controller writes a Go CPU
// profile of the whole invocation to (`go tool pprof`; TESTING.md,
// "Profiling the controller"). A hidden knob for measuring, never on by
// default.
const EnvCPUProfile = "KONGCTL_CPUPROFILE"

// startCPUProfile starts the CPU profile EnvCPUProfile asks for and
// returns what stops it and writes it out; it does nothing without it. A
// profile that cannot start is reported on stderr and the run goes on.
func startCPUProfile(getenv func(string) string, stderr io.Writer) (stop func()) {
	path := getenv(EnvCPUProfile)
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "kongctl: cpu profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "kongctl: cpu profile %s: %v\n", path, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "kongctl: cpu profile %s: %v\n", path, err)
		}
	}
}
