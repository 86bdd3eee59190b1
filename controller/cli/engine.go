package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kongctl/kongctl/controller/cli/view"
	"github.com/kongctl/kongctl/controller/progress"

	"github.com/kongctl/kongctl/controller"
)

// options turns a request into the controller's options.
func (r *request) options() controller.Options {
	o := controller.Options{
		Inventory:     r.Inventory,
		InventoryPath: r.Path,
		Limit:         r.Limit,
		StateDir:      r.StateDir,
		Identity:      r.Identity,
		Output:        "text",
		Stdout:        r.Stdout,
		Stderr:        r.Stderr,
		Sink:          newSink(r.JSON, r.Quiet, r.Stdout, r.Stderr),
		Version:       Version,
		Confirm: func(prompt string) bool {
			ok, err := r.confirm(prompt)
			if err != nil {
				r.Log.Error(err.Error())
			}
			return ok
		},
	}
	if r.JSON {
		o.Output = "json"
	}
	return o
}

// runPlan runs the preflight and prints the plan (--to is already applied
// to the inventory, which the controller reads). In JSON mode the
// controller has already streamed the plan as the last event.
func runPlan(ctx context.Context, req *request) error {
	o := req.options()
	p, err := controller.Plan(ctx, o)
	if err != nil {
		return WithCode(ExitFailure, err)
	}
	if !req.JSON {
		if err := view.Plan(req.Stdout, p); err != nil {
			return err
		}
	}
	if !p.Ready {
		return &ExitError{Code: ExitFailure, Err: errPlanNotReady}
	}
	return nil
}

// runUpgrade drives the upgrade and maps its outcome to the exit code.
func runUpgrade(ctx context.Context, req *upgradeRequest) error {
	o := req.options()
	o.Yes, o.Resume, o.OnFailure, o.Decommission = req.Yes, req.Resume, controller.OnFailure(req.OnFailure), req.Decommission
	o.NoRehearsal = req.NoRehearsal
	r, err := controller.Upgrade(ctx, o)
	writeReportFile(req.request, req.ReportFile, r)
	return finishReport(req.request, r, err)
}

// runRollback rolls the fleet back from the latest run's journal.
func runRollback(ctx context.Context, req *changeRequest) error {
	o := req.options()
	o.Yes = req.Yes
	r, err := controller.Rollback(ctx, o)
	writeReportFile(req.request, req.ReportFile, r)
	if err == nil && r.Outcome == controller.RolledBack {
		// The rollback asked for was done: that is this command's success.
		if !req.JSON {
			return view.Report(req.Stdout, r)
		}
		return nil
	}
	return finishReport(req.request, r, err)
}

// runStatus reports the fleet's state.
func runStatus(ctx context.Context, req *request) error {
	s, err := controller.Status(ctx, req.options())
	if err != nil {
		return WithCode(ExitFailure, err)
	}
	if req.JSON {
		err = view.StatusJSON(req.Stdout, s)
	} else {
		err = view.Status(req.Stdout, s)
	}
	if err != nil {
		return err
	}
	if n := s.Unreachable(); n > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d host(s) unreachable", n)}
	}
	return nil
}

// finishReport prints a run's report (text mode; JSON mode streamed it as
// the last event) and returns the outcome's exit code.
func finishReport(req *request, r *controller.Report, err error) error {
	if err != nil {
		return WithCode(ExitFailure, err)
	}
	if !req.JSON {
		if werr := view.Report(req.Stdout, r); werr != nil {
			return werr
		}
	}
	if code := outcomeCode(r.Outcome); code != ExitOK {
		return &ExitError{Code: code, Err: errOutcome(r.Outcome)}
	}
	return nil
}

// newSink chooses where progress goes: JSON lines on stdout with --output
// json (the final report is the last line), else bars on a terminal's
// stderr (unless --quiet), else plain lines on stderr.
func newSink(jsonOut, quiet bool, stdout, stderr io.Writer) progress.Sink {
	if jsonOut {
		return progress.NewJSON(stdout)
	}
	if f, ok := stderr.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		return progress.NewBars(stderr)
	}
	return progress.NewText(stderr)
}
