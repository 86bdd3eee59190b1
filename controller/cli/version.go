package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/kongctl/kongctl/controller/cli/view"

	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/controller"
)

// Version and Commit identify the build; the Makefile sets them with
// -ldflags "-X github.com/kongctl/kongctl/controller/cli.Version=...".
var (
	Version = "dev"
	Commit  = "none"
)

// About says which kongctl this is: Kong Inc. ships an unrelated CLI for
// Konnect also named kongctl.
const About = "the Kong Gateway fleet upgrade tool (in-place upgrades over SSH), not Kong's Konnect CLI of the same name"

type versionInfo struct {
	Schema   int    `json:"schema"`
	Tool     string `json:"tool"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// buildVersion returns Version and Commit, falling back to the module
// version and VCS revision recorded by the Go toolchain.
func buildVersion() versionInfo {
	v := versionInfo{Schema: controller.JSONSchema, Tool: About, Version: Version, Commit: Commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if v.Commit == "none" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && s.Value != "" {
					v.Commit = s.Value
					if len(v.Commit) > 12 {
						v.Commit = v.Commit[:12]
					}
				}
			}
		}
	}
	return v
}

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kongctl's version and commit, and which kongctl this is",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := buildVersion()
			if a.json() {
				return view.JSON(a.streams.out, v)
			}
			_, err := fmt.Fprintf(a.streams.out, "kongctl %s (commit %s, %s %s)\n%s\n", v.Version, v.Commit, v.Go, v.Platform, v.Tool)
			return err
		},
	}
}
