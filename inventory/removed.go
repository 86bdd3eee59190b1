package inventory

import (
	"github.com/hashicorp/hcl/v2"
)

// removedSetting is a setting the language once accepted: an inventory
// written for that kongctl gets why it went and what to do, instead of
// hcl's generic "Unsupported argument".
type removedSetting struct {
	schema *hcl.BodySchema // the block it was in
	name   string          // the argument or block type
	path   string          // as the docs named it
	why    string
}

// removedSettings are the settings removed from the language (commit
// 8ba86d2: accepted, documented and ignored until then).
var removedSettings = []removedSetting{
	{timeoutsSchema, "freeze", "timeouts.freeze",
		"kongctl holds no writes for a set time: it detects writes made during the backup and the stop, within timeouts.backup and timeouts.stop. Delete the line."},
	{smokeSchema, "method", "verify.smoke.method",
		"smoke requests are always GETs (they reach the real upstreams). Delete the line."},
	{packageSchema, "repository", "upgrade.package.repository",
		`source = "repository" installs exactly upgrade.to from the repositories each node already has; kongctl never added a repository nor pinned one. Delete the block and configure the repository on the nodes.`},
}

// explainRemoved rewrites an unsupported-argument or -block diagnostic
// for a removed setting of schema's block.
func explainRemoved(diag *hcl.Diagnostic, schema *hcl.BodySchema) {
	var name string
	switch diag.Summary {
	case "Unsupported argument":
		name = quoted(diag.Detail, `An argument named "`)
	case "Unsupported block type":
		name = quoted(diag.Detail, `Blocks of type "`)
	}
	for _, r := range removedSettings {
		if r.schema == schema && r.name == name && name != "" {
			diag.Summary = "Removed setting"
			diag.Detail = r.path + " is no longer part of the inventory language: " + r.why
			return
		}
	}
}
