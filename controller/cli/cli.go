// Package cli is kongctl's command tree: flag parsing, inventory loading,
// rendering of results and diagnostics, and the mapping of errors to exit
// codes (see exit.go). Commands parse their flags into a per-invocation
// struct, run, and render; nothing here writes to os.Stdout directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kongctl/kongctl/hcl/diagrender"
	"github.com/kongctl/kongctl/inventory"
)

// EnvInventory names the inventory file when -i is not given.
const EnvInventory = "KONGCTL_INVENTORY"

// EnvStateDir overrides where run journals live (default: .kongctl beside
// the inventory).
const EnvStateDir = "KONGCTL_STATE_DIR"

// Main runs kongctl with args (without the program name) and returns the
// process exit code. cmd/kongctl calls it with a ctx cancelled on SIGINT
// and SIGTERM.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stop := startCPUProfile(os.Getenv, stderr)
	defer stop()
	return run(ctx, args, &streams{in: stdin, out: stdout, err: stderr}, os.Getenv)
}

type streams struct {
	in       io.Reader
	out, err io.Writer
}

// app is one invocation's state: streams, environment and global flags.
type app struct {
	streams *streams
	getenv  func(string) string

	inventoryPath string
	output        string
	verbose       int
	quiet         bool
	noColor       bool

	log *slog.Logger
}

func run(ctx context.Context, args []string, s *streams, getenv func(string) string) int {
	a := &app{streams: s, getenv: getenv}
	root := a.newRoot()
	root.SetArgs(args)
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		// Errors cobra raises itself (unknown command or flag, wrong
		// arguments) are usage errors.
		err = &ExitError{Code: ExitUsage, Err: err}
	}
	name := "kongctl"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(s.err, "%s: %s\n", name, msg)
	}
	if exitCode(err) == ExitUsage && isFlagOrArgError(err) {
		fmt.Fprintf(s.err, "Run '%s --help' for usage.\n", name)
	}
	return exitCode(err)
}

type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

func isFlagOrArgError(err error) bool {
	var fe flagError
	return errors.As(err, &fe) || strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "arg(s)")
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "kongctl",
		Short: "Upgrade a fleet of Kong Gateway nodes in place, over SSH",
		Long: `kongctl upgrades a fleet of Kong Gateway nodes in place, over SSH, from a bastion.

This kongctl is the Kong Gateway fleet upgrade tool; it is not Kong's
Konnect CLI of the same name.

It reads an HCL inventory (-i hosts.hcl) describing the Kong nodes and their
PostgreSQL database, and drives Kong's documented upgrade: freeze, verified
backup, ordered stop, package install, migrations on one node, start, verify,
and rollback when anything goes wrong.

Exit codes: 0 success, 1 failure, 2 usage or inventory error,
3 upgrade failed and rolled back, 4 paused (resume with upgrade --resume).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: flagError{err}}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.inventoryPath, "inventory", "i", "", "inventory file (default $"+EnvInventory+" or ./"+inventory.DefaultFile+")")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	pf.CountVarP(&a.verbose, "verbose", "v", "more log output on stderr (-v info, -vv debug)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "only errors on stderr")
	pf.BoolVar(&a.noColor, "no-color", false, "no colour in output (also when NO_COLOR is set)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.MarkPersistentFlagFilename("inventory", "hcl", "json")

	root.AddCommand(
		a.newUpgradeCmd(),
		a.newPlanCmd(),
		a.newRollbackCmd(),
		a.newStatusCmd(),
		a.newReportCmd(),
		a.newUnlockCmd(),
		a.newInventoryCmd(),
		a.newVersionCmd(),
	)
	return root
}

// setup validates global flags and builds the logger.
func (a *app) setup(cmd *cobra.Command) error {
	switch a.output {
	case "text", "json":
	default:
		return usageErrorf("--output must be text or json, not %q", a.output)
	}
	// Every command honours --output json, except the completion scripts,
	// which are shell code: refuse rather than print text.
	if a.json() && cmd.Parent() != nil && cmd.Parent().Name() == "completion" {
		return usageErrorf("completion writes a shell script; --output json does not apply")
	}
	if a.quiet && a.verbose > 0 {
		return usageErrorf("--quiet and --verbose contradict each other; use one")
	}
	level := slog.LevelWarn
	switch {
	case a.quiet:
		level = slog.LevelError
	case a.verbose == 1:
		level = slog.LevelInfo
	case a.verbose >= 2:
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.streams.err, &slog.HandlerOptions{Level: level}))
	return nil
}

// json reports whether --output json was asked for.
func (a *app) json() bool { return a.output == "json" }

// color reports whether w may get ANSI colour: a terminal, no NO_COLOR, no
// --no-color, and not TERM=dumb.
func (a *app) color(w io.Writer) bool {
	if a.noColor || a.getenv("NO_COLOR") != "" || a.getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

func terminalWidth(w io.Writer) uint {
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return uint(width)
		}
	}
	return 0
}

// inventoryFile is the inventory path from -i, $KONGCTL_INVENTORY or the
// default.
func (a *app) inventoryFile() string {
	if a.inventoryPath != "" {
		return a.inventoryPath
	}
	if p := a.getenv(EnvInventory); p != "" {
		return p
	}
	return inventory.DefaultFile
}

// loadInventory loads the inventory and renders any diagnostics on stderr
// (warnings included). Errors end the command with exit code 2.
func (a *app) loadInventory() (*inventory.Inventory, error) {
	path := a.inventoryFile()
	inv, diags := inventory.Load(path)
	if len(diags) > 0 && !(a.quiet && !diags.HasErrors()) {
		a.renderDiags(a.streams.err, inv.Files, diags)
	}
	if diags.HasErrors() {
		return inv, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %s", path, countErrors(diags))}
	}
	return inv, nil
}

// renderDiags picks the snippet form on a terminal, else one line each.
func (a *app) renderDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	opts := diagrender.Options{Format: diagrender.FormatPlain, Files: files}
	if isTerminal(w) {
		opts.Format = diagrender.FormatSnippet
		opts.Width = terminalWidth(w)
		opts.Color = a.color(w)
	}
	if err := diagrender.Write(w, diags, opts); err != nil {
		a.log.Error("write diagnostics", "err", err)
	}
}

func countErrors(diags hcl.Diagnostics) string {
	n := len(diags.Errs())
	if n == 1 {
		return "inventory has 1 error"
	}
	return fmt.Sprintf("inventory has %d errors", n)
}

// selectHosts applies --limit, a usage error when it selects nothing.
func selectHosts(inv *inventory.Inventory, limit string) ([]*inventory.Host, error) {
	hs, err := inv.Select(limit)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--limit: %w", err)}
	}
	return hs, nil
}

// selectionSyntax is what --limit takes, on every command that has it.
const selectionSyntax = "comma-separated host names, group names, tag:NAME, role:NAME"

// Each command's --limit help says what it accepts.
const (
	limitAnySubset  = "only these hosts (any selection): " + selectionSyntax
	limitWholeFleet = "the hosts to upgrade: " + selectionSyntax + "; upgrade refuses any subset of the fleet (the Kong nodes share one database and stop together), so it must name every Kong node; default all"
)

// addLimitFlag adds --limit, with usage saying what the command accepts,
// and completion of host, group and tag names.
func (a *app) addLimitFlag(cmd *cobra.Command, p *string, usage string) {
	cmd.Flags().StringVarP(p, "limit", "l", "", usage)
	_ = cmd.RegisterFlagCompletionFunc("limit", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		inv, diags := inventory.Load(a.inventoryFile())
		if diags.HasErrors() {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		tags := map[string]bool{}
		for _, h := range inv.Hosts {
			out = append(out, h.Name)
			for _, t := range h.Tags {
				if !tags[t] {
					tags[t] = true
					out = append(out, "tag:"+t)
				}
			}
		}
		for _, g := range inv.Groups {
			out = append(out, g.Name)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}
