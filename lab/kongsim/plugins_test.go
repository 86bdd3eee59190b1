package kongsim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A plugin in `plugins` that is not bundled starts only when its handler
// module is on the search path, as Kong's load_plugin_schemas has it.
func TestUninstalledPlugin(t *testing.T) {
	rel, err := ParseRelease("3.4.2", "oss")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := dir + "/?.lua;;"
	if msg := rel.uninstalledPlugin("bundled", path); msg != "" {
		t.Errorf("bundled plugins: %s", msg)
	}
	msg := rel.uninstalledPlugin("bundled,foo", path)
	for _, want := range []string{"on plugin 'foo': foo plugin is enabled but not installed;", "module 'kong.plugins.foo.handler' not found:", "no file '" + dir + "/kong/plugins/foo/handler.lua'", "no file '/usr/local/share/lua/5.1/kong/plugins/foo/handler.lua'"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	f := filepath.Join(dir, "kong", "plugins", "foo", "handler.lua")
	os.MkdirAll(filepath.Dir(f), 0o755)
	os.WriteFile(f, []byte("return {}\n"), 0o644)
	if msg := rel.uninstalledPlugin("bundled,foo", path); msg != "" {
		t.Errorf("installed plugin refused: %s", msg)
	}
}
