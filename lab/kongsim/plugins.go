package kongsim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Custom plugins. Kong loads every plugin named in `plugins` at start
// (kong/init.lua → Plugins:load_plugin_schemas, kong/db/dao/plugins.lua):
// a name that is not bundled needs its handler module,
// kong.plugins.<name>.handler, on Lua's search path, which a custom
// plugin's package (a luarocks rock or a .deb/.rpm around one) installs
// under /usr/local/share/lua/5.1. Missing, nginx's init fails with "<name>
// plugin is enabled but not installed" and Kong does not start. `kong
// migrations` does not load the handlers (migrations/state.lua skips a
// plugin without a migrations module), so it is only the start that fails.

// luaDefaultPath is the part of Lua's search path a Kong package sets
// beyond lua_package_path: where its own modules and the rocks live.
var luaDefaultPath = []string{"/usr/local/share/lua/5.1/?.lua", "/usr/local/share/lua/5.1/?/init.lua"}

// uninstalledPlugin is Kong's error for the first plugin of the `plugins`
// setting that is neither bundled with r nor installed on the search path
// (lua_package_path, then luaDefaultPath), "" when every one is.
func (r Release) uninstalledPlugin(setting, luaPackagePath string) string {
	bundled := r.BundledPlugins()
	var path []string
	for _, p := range strings.Split(luaPackagePath, ";") {
		if p = strings.TrimSpace(p); p != "" {
			path = append(path, p)
		}
	}
	path = append(path, luaDefaultPath...)
	for _, name := range r.LoadedPlugins(setting) {
		if slices.Contains(bundled, name) {
			continue
		}
		module := "kong.plugins." + name + ".handler"
		tried := []string{fmt.Sprintf("\tno field package.preload['%s']", module)}
		found := false
		for _, p := range path {
			f := strings.ReplaceAll(p, "?", filepath.FromSlash(strings.ReplaceAll(module, ".", "/")))
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				found = true
				break
			}
			tried = append(tried, fmt.Sprintf("\tno file '%s'", f))
		}
		if !found {
			return fmt.Sprintf("error loading plugin schemas: on plugin '%s': %s plugin is enabled but not installed;\nmodule '%s' not found:\n%s",
				name, name, module, strings.Join(tried, "\n"))
		}
	}
	return ""
}
