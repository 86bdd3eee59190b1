package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/reportview"
	"github.com/kongctl/kongctl/inventory"
)

func (a *app) newReportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report [RUN-ID]",
		Short: "Show a run's report: an HTML page with a timeline, JSON, a Mermaid chart or text",
		Long: `Show the report of a run (the latest when RUN-ID is omitted) from its journal
under the state directory, on stdout. Reads local files only: no host is
contacted.

--format html is one self-contained page (inline CSS and SVG, no script, no
external reference; it works offline): a timeline with one row per node
(stopped → serving, install, start), the migrations on the migration node,
the point of no return, the fleet-outage band, the verify gates' measured
values against their thresholds and baseline, and the backup's location and
checksum. json is the report and the same timeline (also with -o json),
mermaid a gantt chart of it, text the report as upgrade prints it.`,
		Example: `  kongctl report -i hosts.hcl --format html > upgrade.html
  kongctl report -i hosts.hcl 20261206T101500Z-a1b2c3 --format mermaid
  kongctl report -i hosts.hcl -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = "text"
				if a.json() {
					format = "json"
				}
			}
			if !slices.Contains(reportview.Formats, format) {
				return usageErrorf("--format must be one of %s, not %q", strings.Join(reportview.Formats, ", "), format)
			}
			if a.json() && format != "json" {
				return usageErrorf("--output json writes the report as JSON; --format %s contradicts it", format)
			}
			inv, err := a.loadInventory()
			if err != nil {
				return err
			}
			state := a.stateDir(inv)
			runID := ""
			if len(args) == 1 {
				runID = args[0]
			}
			dir, err := controller.RunDir(state, runID)
			if err != nil {
				return WithCode(ExitFailure, fmt.Errorf("find the run: %w", err))
			}
			r, recs, err := controller.LoadRun(dir)
			if err != nil {
				return WithCode(ExitFailure, fmt.Errorf("read the run: %w", err))
			}
			return reportview.Write(a.streams.out, format, r, recs)
		},
	}
	cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.runIDs(), cobra.ShellCompDirectiveNoFileComp
	}
	cmd.Flags().StringVar(&format, "format", "", "html, json, mermaid or text (default text; json with -o json)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(reportview.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// stateDir is where the inventory's run journals live: $KONGCTL_STATE_DIR,
// else .kongctl beside it.
func (a *app) stateDir(inv *inventory.Inventory) string {
	if d := a.getenv(EnvStateDir); d != "" {
		return d
	}
	return controller.StateDirOf(inv)
}

// runIDs lists the inventory's runs, newest first (completion).
func (a *app) runIDs() []string {
	inv, diags := inventory.Load(a.inventoryFile())
	if diags.HasErrors() {
		return nil
	}
	ents, err := os.ReadDir(filepath.Join(a.stateDir(inv), "runs"))
	if err != nil {
		return nil
	}
	var ids []string
	for i := len(ents) - 1; i >= 0; i-- {
		if ents[i].IsDir() {
			ids = append(ids, ents[i].Name())
		}
	}
	return ids
}

// reportFlagUsage is --report on the commands that run (upgrade,
// rollback): the run's HTML report written to FILE at the end.
const reportFlagUsage = "at the end of the run, whatever its outcome, write its report as a self-contained HTML page (as `kongctl report --format html`) to this file"

// checkReportFile refuses, before any host, a --report whose directory
// does not exist.
func checkReportFile(path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageErrorf("--report %s: directory %s does not exist", path, dir)
	}
	return nil
}

// writeReportFile writes r's HTML report to path. A report that cannot be
// written does not change how the run ended: it is said on stderr.
func writeReportFile(req *request, path string, r *controller.Report) {
	if path == "" || r == nil {
		return
	}
	if err := writeHTMLReport(path, r); err != nil {
		fmt.Fprintf(req.Stderr, "kongctl: %v\n", err)
		return
	}
	if !req.Quiet {
		fmt.Fprintf(req.Stderr, "report of run %s written to %s\n", r.RunID, path)
	}
}

func writeHTMLReport(path string, r *controller.Report) error {
	var recs []journal.Record
	if r.Journal != "" {
		var err error
		if recs, err = journal.Read(r.Journal); err != nil {
			return fmt.Errorf("write report %s: %w", path, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := reportview.WriteHTML(tmp, r, recs); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
