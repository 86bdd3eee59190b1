package inventory

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Attributes lists every attribute the inventory language accepts, as
// dotted paths through its blocks ("ssh.concurrency", "host.ssh.user",
// "upgrade.package.repository.url", "timeouts.verify"), read from the
// schemas the decoder uses, sorted. It is what a test walks to show each
// setting reaches the code.
func Attributes() []string {
	// The schema of each block, by its path; every nested block type a
	// schema names must be here.
	schemas := map[string]*hcl.BodySchema{
		"":                rootSchema,
		"variable":        variableSchema,
		"ssh":             globalSSHSchema,
		"ssh.become":      becomeSchema,
		"host":            hostSchema,
		"host.ssh":        hostSSHSchema,
		"host.ssh.become": becomeSchema,
		"group":           groupSchema,
		"database":        databaseSchema,
		"upgrade":         upgradeSchema,
		"upgrade.package": packageSchema,
		"hook":            hookSchema,
		"verify":          verifySchema,
		"verify.health":   healthSchema,
		"verify.smoke":    smokeSchema,
		"verify.gate":     gateSchema,
		"backup":          backupSchema,
		"timeouts":        timeoutsSchema,
		"kong":            kongSchema,
		"preflight":       preflightSchema,
		"load_balancer":   loadBalancerSchema,
	}
	var out []string
	var walk func(path string)
	walk = func(path string) {
		s, ok := schemas[path]
		if !ok {
			panic(fmt.Sprintf("inventory.Attributes: no schema for block %q", path))
		}
		prefix := path
		if prefix != "" {
			prefix += "."
		}
		for _, a := range s.Attributes {
			out = append(out, prefix+a.Name)
		}
		for _, b := range s.Blocks {
			walk(prefix + b.Type)
		}
	}
	walk("")
	slices.Sort(out)
	return out
}
