// Command kongctl-faults runs kongctl's fault matrix on the rehearsal lab
// (lab/faults) and writes build/faults/matrix.json.
//
//	kongctl-faults [-cells quick|all|PHASE/FAULT,...] [-out build/faults] [-kongctl bin/kongctl]
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
	flag.Parse()

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
	lab, err := labenv.Up(ctx, faults.LabOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kongctl-faults: lab up:", err)
		return 1
	}
	r := &faults.Runner{Lab: lab, Kongctl: bin, Dir: *out, Soak: *soak}
	var results []faults.Result
	for _, c := range sel {
		if ctx.Err() != nil {
			break
		}
		results = append(results, r.Run(ctx, c))
		// Written after every cell, so an interrupted matrix keeps its results.
		if err := faults.WriteJSON(filepath.Join(*out, "matrix.json"), results); err != nil {
			fmt.Fprintln(os.Stderr, "kongctl-faults:", err)
		}
	}
	if !*keep {
		if err := r.Lab.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "kongctl-faults: lab down:", err)
		}
	}
	fmt.Println()
	faults.Print(os.Stdout, results)
	fmt.Printf("matrix: %s\n", filepath.Join(*out, "matrix.json"))
	if s := faults.Summarize(results); s.Failed > 0 || ctx.Err() != nil {
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
