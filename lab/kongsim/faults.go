package kongsim

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Faults are the test hooks of doc.go, read from the environment and from
// <prefix>/fault.env (the environment wins).
type Faults struct {
	MigrationFail string        // FAKE_KONG_MIGRATION_FAIL: <name> fails its up, <name>:teardown its teardown
	CrashAfter    int           // FAKE_KONG_CRASH_AFTER: exit 137 after n migrations (-1: off)
	Slow          time.Duration // FAKE_KONG_SLOW: sleep before each migration
	RefuseStart   bool          // FAKE_KONG_REFUSE_START
	Start5xx      bool          // FAKE_KONG_START_5XX
	SlowStop      time.Duration // FAKE_KONG_SLOW_STOP: QUIT is ignored for that long
	ProxyDelay    time.Duration // FAKE_KONG_PROXY_DELAY: every proxied request waits that long
	ClusterPing   time.Duration // FAKE_KONG_CLUSTER_PING: a data plane syncs (heartbeats) that often (default 1s)
}

// FaultFile is the name of the per-prefix fault file.
const FaultFile = "fault.env"

func loadFaults(prefix string, env []string) Faults {
	vals := map[string]string{}
	if f, err := os.Open(filepath.Join(prefix, FaultFile)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if ok {
				vals[strings.TrimSpace(strings.TrimPrefix(k, "export "))] = strings.Trim(strings.TrimSpace(v), `"'`)
			}
		}
		f.Close()
	}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "FAKE_KONG_") {
			vals[k] = v
		}
	}
	secs := func(k string) time.Duration {
		f, err := strconv.ParseFloat(vals[k], 64)
		if err != nil || f <= 0 {
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	fl := Faults{
		MigrationFail: vals["FAKE_KONG_MIGRATION_FAIL"],
		CrashAfter:    -1,
		Slow:          secs("FAKE_KONG_SLOW"),
		RefuseStart:   truthy(vals["FAKE_KONG_REFUSE_START"]),
		Start5xx:      truthy(vals["FAKE_KONG_START_5XX"]),
		SlowStop:      secs("FAKE_KONG_SLOW_STOP"),
		ProxyDelay:    secs("FAKE_KONG_PROXY_DELAY"),
		ClusterPing:   secs("FAKE_KONG_CLUSTER_PING"),
	}
	if n, err := strconv.Atoi(vals["FAKE_KONG_CRASH_AFTER"]); err == nil && n >= 0 {
		fl.CrashAfter = n
	}
	return fl
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
