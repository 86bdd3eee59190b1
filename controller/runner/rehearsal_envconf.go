package runner

import (
	"slices"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// envSourced lists the settings of a node's effective configuration that
// come from its service's KONG_* environment rather than its kong.conf:
// the database settings whose source says so (the password included,
// whose value is never sent), and the plugin list when the effective one
// is not kong.conf's (a rehearsal on another plugin set is no rehearsal:
// Kong/kong#14730). The agent reports sources for these only.
func envSourced(f fleet.Facts) []string {
	var keys []string
	for _, s := range f.DB {
		if strings.HasPrefix(s.Source, "environment") {
			keys = append(keys, s.Key)
		}
	}
	if eff := pluginList(f.Conf["plugins"]); eff != "" {
		conf := "bundled"
		for _, c := range f.ConfEntries {
			if c.Key == "plugins" {
				conf = c.Value
			}
		}
		if eff != pluginList(conf) {
			keys = append(keys, "plugins")
		}
	}
	slices.Sort(keys)
	return keys
}

// pluginList is a plugins setting with its spaces removed.
func pluginList(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), " ", "") }

// rehearsalEnvGap says why the rehearsal cannot stand for the fleet when
// the node whose kong.conf it takes is configured partly through its
// service environment: the rehearsal host gets that kong.conf only (the
// environment, its secrets among them, is not copied to another host), so
// its Kong would run on other settings than the fleet's. "" when none.
func rehearsalEnvGap(node string, f fleet.Facts) string {
	keys := envSourced(f)
	if len(keys) == 0 {
		return ""
	}
	return node + "'s effective configuration takes " + strings.Join(keys, ", ") + " from its service environment (" +
		orDefault(f.EnvSource, "KONG_* variables") + "), which kongctl does not carry to the rehearsal host"
}
