package inventory

import (
	"regexp"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// pluginPackageName is a package name dpkg and rpm both accept, and that
// needs no quoting in a shell: letters, digits and + . _ -, a letter or
// digit first.
var pluginPackageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]*$`)

// pluginPackages reads upgrade.package.plugin_packages: distinct package
// names, none of them Kong's own.
func (d *decoder) pluginPackages(at *hcl.Attribute) []string {
	names, ok := d.strList(at)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range names {
		switch {
		case !pluginPackageName.MatchString(n):
			d.errorf(at.Expr.Range(), "Invalid plugin package name",
				"%q is not a package name: letters, digits and + . _ - only, a letter or digit first (the name dpkg -s or rpm -q knows the plugin's package by, e.g. \"kong-plugin-foo\").", n)
		case n == "kong" || n == "kong-enterprise-edition":
			d.errorf(at.Expr.Range(), "Kong in plugin_packages",
				"%q is Kong's own package, which kongctl upgrades; plugin_packages lists only custom plugin packages installed beside it.", n)
		case slices.Contains(out, n):
			d.errorf(at.Expr.Range(), "Duplicate plugin package", "%q is listed twice in plugin_packages.", n)
		default:
			out = append(out, n)
		}
	}
	return out
}
