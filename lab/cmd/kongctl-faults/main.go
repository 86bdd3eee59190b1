// Command kongctl-faults runs kongctl's fault matrix on the rehearsal lab
// (lab/faults) and writes build/faults/matrix.json.
//
//	kongctl-faults [-cells quick|all|PHASE/FAULT,...] [-out build/faults] [-kongctl bin/kongctl] [-merge] [-lab-id 3]
//
// -merge keeps the other cells of an existing matrix.json and replaces the
// ones run now (to re-run failed cells after a fix).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/lab/faults"
	"github.com/kongctl/kongctl/lab/labenv"
)

func main() {
	os.Exit(run())
}

func run() int {
	cells := flag.String("cells", "all", "quick, all, or a comma-separated list of PHASE/FAULT (PHASE/* and */FAULT work)")
	out := flag.String("out", "build/faults", "output directory (matrix.json, one folder per cell)")
	kongctl := flag.String("kongctl", "bin/kongctl", "the kongctl binary to drive")
	soak := flag.String("soak", "3s", "verify soak window of the upgrades")
	keep := flag.Bool("keep", false, "leave the lab up afterwards")
	merge := flag.Bool("merge", false, "keep the other cells of an existing matrix.json, replacing the ones run now")
	labID := flag.Int("lab-id", faults.LabOptions().ID, "lab ID to run on")
	printOnly := flag.Bool("print", false, "print the matrix of an existing matrix.json and exit (no lab)")
	flag.Parse()
	if *printOnly {
		rs, err := faults.ReadJSON(filepath.Join(*out, "matrix.json"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
			return 2
		}
		faults.Print(os.Stdout, rs)
		if faults.Summarize(rs).Failed > 0 {
			return 1
		}
		return 0
	}

	t0 := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sel, err := selectCells(*cells)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
		return 2
	}
	bin, err := filepath.Abs(*kongctl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
		return 2
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "kongctl-faults: %v (run make)\n", err)
		return 2
	}
	var prior []faults.Result
	jsonPath := filepath.Join(*out, "matrix.json")
	if *merge {
		if prior, err = faults.ReadJSON(jsonPath); err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
			return 2
		}
	}
	// The first cell's lab (the default one, or a topology cell's).
	var topo faults.Topology
	if len(sel) > 0 {
		topo = sel[0].Topology
	}
	lab, err := labenv.Up(ctx, topo.Options(*labID))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongctl-faults: lab up:", err)
		return 1
	}
	r := &faults.Runner{Lab: lab, Kongctl: bin, Dir: *out, Soak: *soak, Topology: topo}
	var results []faults.Result
	for _, c := range sel {
		if ctx.Err() != nil {
			break
		}
		results = append(results, r.Run(ctx, c))
		// Written after every cell, so an interrupted matrix keeps its results.
		if err := faults.WriteJSON(jsonPath, faults.Merge(prior, results)); err != nil {
			fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
		}
	}
	if !*keep {
		if err := r.Lab.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "kongctl-faults: lab down:", err)
		}
	}
	all := faults.Merge(prior, results)
	fmt.Println()
	faults.Print(os.Stdout, all)
	fmt.Printf("matrix: %s (%d cells run now, in %s)\n", jsonPath, len(results), time.Since(t0).Round(time.Second))
	if s := faults.Summarize(all); s.Failed > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

func selectCells(spec string) ([]faults.Cell, error) {
	all := faults.Matrix()
	switch spec {
	case "all", "":
		return all, nil
	case "quick":
		var q []faults.Cell
		for _, c := range all {
			if c.Quick {
				q = append(q, c)
			}
		}
		return q, nil
	}
	var out []faults.Cell
	for _, want := range strings.Split(spec, ",") {
		p, f, ok := strings.Cut(strings.TrimSpace(want), "/")
		if !ok {
			return nil, fmt.Errorf("cell %q: want PHASE/FAULT", want)
		}
		n := 0
		for _, c := range all {
			if (p == "*" || string(c.Phase) == p) && (f == "*" || string(c.Fault) == f) {
				out = append(out, c)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("cell %q: no such cell", want)
		}
	}
	return out, nil
}
