package dist

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// ManPages renders one section-1 man page per available command of root
// (kongctl.1, kongctl-upgrade.1, kongctl-inventory-vagrant.1, ...), as
// cobra's doc package does for GenManTree: name (without .1) → roff.
// source is the footer's source (e.g. "kongctl 1.2.0"); date is the
// page's date (the commit's, for reproducible pages).
func ManPages(root *cobra.Command, source string, date time.Time) (map[string][]byte, error) {
	pages := map[string][]byte{}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root || c.IsAdditionalHelpTopicCommand() {
			return nil
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		d := date
		// A fresh header per page: GenMan fills in the title.
		h := &doc.GenManHeader{Section: "1", Source: source, Manual: "kongctl manual", Date: &d}
		var b bytes.Buffer
		if err := doc.GenMan(c, h, &b); err != nil {
			return fmt.Errorf("dist: man page %s: %w", name, err)
		}
		pages[name] = b.Bytes()
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return pages, nil
}

// Shells are the shells Completions writes a script for.
var Shells = []string{"bash", "zsh", "fish"}

// Completions renders the completion scripts `kongctl completion SHELL`
// prints, with descriptions: shell → script.
func Completions(root *cobra.Command) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, sh := range Shells {
		var b bytes.Buffer
		var err error
		switch sh {
		case "bash":
			err = root.GenBashCompletionV2(&b, true)
		case "zsh":
			err = root.GenZshCompletion(&b)
		case "fish":
			err = root.GenFishCompletion(&b, true)
		}
		if err != nil {
			return nil, fmt.Errorf("dist: %s completion: %w", sh, err)
		}
		out[sh] = b.Bytes()
	}
	return out, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
