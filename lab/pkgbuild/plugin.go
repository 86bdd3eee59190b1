package pkgbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
)

// PluginFileName is the file WritePluginPackage writes for format:
// kong-plugin-<plugin>_<version>_all.deb or
// kong-plugin-<plugin>-<version>.noarch.rpm.
func PluginFileName(plugin, version, format string) string {
	if format == "rpm" {
		return fmt.Sprintf("kong-plugin-%s-%s.noarch.rpm", plugin, version)
	}
	return fmt.Sprintf("kong-plugin-%s_%s_all.deb", plugin, version)
}

// WritePluginPackage writes a custom plugin's package, kong-plugin-<plugin>,
// into dir and returns its path: the plugin's handler and schema modules
// under /usr/local/share/lua/5.1/kong/plugins/<plugin>/, where a rock
// installs them and Kong (and the simulator) look for them.
func WritePluginPackage(dir, plugin, version, format string) (string, error) {
	stage, err := os.MkdirTemp("", "kongpkg-plugin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var contents files.Contents
	for name, body := range map[string]string{
		"handler.lua": "return { PRIORITY = 1000, VERSION = \"" + version + "\" }\n",
		"schema.lua":  "return { name = \"" + plugin + "\", fields = { { config = { type = \"record\", fields = {} } } } }\n",
	} {
		src := filepath.Join(stage, name)
		if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
			return "", err
		}
		contents = append(contents, &files.Content{Source: src, Destination: "/usr/local/share/lua/5.1/kong/plugins/" + plugin + "/" + name,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644, MTime: mtime}})
	}
	arch := map[string]string{"deb": "all", "rpm": "noarch"}[format]
	info := &nfpm.Info{
		Name: "kong-plugin-" + plugin, Arch: arch, Platform: "linux", Version: version, VersionSchema: "none",
		Maintainer: "kongctl lab <lab@kongctl.invalid>", Description: "Custom Kong plugin " + plugin + " (lab)",
		MTime: mtime, Overridables: nfpm.Overridables{Contents: contents},
	}
	path := filepath.Join(dir, PluginFileName(plugin, version, format))
	return path, WriteNFPM(info, format, path)
}
