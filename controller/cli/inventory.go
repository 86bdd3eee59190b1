package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/hcl/diagrender"
	"github.com/kongctl/kongctl/inventory"
)

func (a *app) newInventoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Check or show the inventory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			return usageErrorf("missing subcommand: %s", strings.Join(names, ", "))
		},
	}
	cmd.AddCommand(a.newInventoryCheckCmd(), a.newInventoryShowCmd(), a.newInventoryVagrantCmd())
	return cmd
}

func (a *app) newInventoryCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the inventory and report every problem with its location",
		Long: `Load and validate the inventory. Problems are reported like a compiler's:
with source snippets on a terminal, else one "file:line:col: error: summary"
line each followed by the detail, or as JSON with --output json (on stdout).
Exits 2 when there are errors, 0 otherwise (warnings included).`,
		Example: `  kongctl inventory check -i hosts.hcl
  kongctl inventory check -i hosts.hcl -o json | jq .diagnostics`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return a.inventoryCheck() },
	}
}

func (a *app) inventoryCheck() error {
	path := a.inventoryFile()
	inv, diags := inventory.Load(path)
	if a.json() {
		if err := diagrender.JSON(a.streams.out, diags, inv.Files); err != nil {
			return err
		}
	} else if len(diags) > 0 {
		a.renderDiags(a.streams.err, inv.Files, diags)
	}
	if diags.HasErrors() {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %s", path, countErrors(diags))}
	}
	if !a.json() && !a.quiet {
		fmt.Fprintf(a.streams.out, "%s: ok, %s\n", path, summary(inv))
	}
	return nil
}

// summary counts hosts by role, e.g. "4 hosts (3 kong, 1 database)".
func summary(inv *inventory.Inventory) string {
	var parts []string
	for _, r := range inventory.Roles {
		if n := len(inv.HostsWithRole(r)); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	noun := "hosts"
	if len(inv.Hosts) == 1 {
		noun = "host"
	}
	return fmt.Sprintf("%d %s (%s)", len(inv.Hosts), noun, strings.Join(parts, ", "))
}

func (a *app) newInventoryShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the resolved inventory (defaults filled in, secrets redacted)",
		Long: `Print the inventory as kongctl understands it: variables and functions
evaluated, defaults filled in, paths absolute, each host's effective SSH
overrides. Secrets are never printed, only their references
(password_env, password_file). Text output is HCL; --output json is HCL JSON
syntax. Either loads back as the same inventory.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			inv, err := a.loadInventory()
			if err != nil {
				return err
			}
			doc := inventory.Redacted(inv)
			if a.json() {
				b, err := json.MarshalIndent(doc, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.streams.out, "%s\n", b)
				return err
			}
			fmt.Fprintf(a.streams.out, "# Resolved from %s: defaults filled in, paths absolute, secrets shown only as references.\n\n", inv.Path)
			return doc.WriteHCL(a.streams.out)
		},
	}
}
