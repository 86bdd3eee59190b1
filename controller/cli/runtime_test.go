package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestTuneRuntime(t *testing.T) {
	procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetMemoryLimit(mem) })

	t.Run("kongctl's choice", func(t *testing.T) {
		runtime.GOMAXPROCS(3)
		debug.SetMemoryLimit(1 << 40)
		TuneRuntime(func(string) (string, bool) { return "", false })
		if got := runtime.GOMAXPROCS(0); got != controllerProcs {
			t.Errorf("GOMAXPROCS = %d, want %d", got, controllerProcs)
		}
		if got := debug.SetMemoryLimit(-1); got != softMemoryLimit {
			t.Errorf("memory limit = %d, want %d", got, softMemoryLimit)
		}
	})
	t.Run("the environment's", func(t *testing.T) {
		runtime.GOMAXPROCS(3)
		debug.SetMemoryLimit(1 << 40)
		set := map[string]bool{"GOMAXPROCS": true, "GOMEMLIMIT": true}
		TuneRuntime(func(k string) (string, bool) { return "3", set[k] })
		if got := runtime.GOMAXPROCS(0); got != 3 {
			t.Errorf("GOMAXPROCS = %d with GOMAXPROCS set, want it left at 3", got)
		}
		if got := debug.SetMemoryLimit(-1); got != 1<<40 {
			t.Errorf("memory limit = %d with GOMEMLIMIT set, want it left", got)
		}
	})
}
