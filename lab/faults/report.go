package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// Summary counts the cells by result.
type Summary struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	NA     int `json:"na"`
}

// Summarize counts results.
func Summarize(rs []Result) Summary {
	var s Summary
	for _, r := range rs {
		switch {
		case r.Passed == nil:
			s.NA++
		case *r.Passed:
			s.Passed++
		default:
			s.Failed++
		}
	}
	return s
}

// WriteJSON writes matrix.json: {"summary":…, "cells":[…]}, one entry per
// cell.
func WriteJSON(path string, rs []Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		Summary Summary  `json:"summary"`
		Cells   []Result `json:"cells"`
	}{Summarize(rs), rs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads the cells of a matrix.json written by WriteJSON.
func ReadJSON(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m struct {
		Cells []Result `json:"cells"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m.Cells, nil
}

// Merge returns prior with the cells of now replacing those of the same
// phase and fault, in matrix order (cells of neither are left out).
func Merge(prior, now []Result) []Result {
	by := map[string]Result{}
	for _, r := range prior {
		by[string(r.Phase)+"/"+string(r.Fault)] = r
	}
	for _, r := range now {
		by[string(r.Phase)+"/"+string(r.Fault)] = r
	}
	var out []Result
	for _, c := range Matrix() {
		if r, ok := by[c.Name()]; ok {
			out = append(out, r)
		}
	}
	return out
}

// mark is a cell's short form in the printed matrix.
func mark(r Result) string {
	switch {
	case r.Passed == nil:
		return "n/a"
	case !*r.Passed:
		return "FAIL"
	}
	s := map[Outcome]string{OutUpgraded: "upgraded", OutRolledBack: "rolled-back", OutRefused: "refused"}[r.Outcome]
	// The commands the operator ran after the first (paused or killed)
	// one, as the report named them.
	var then []string
	for _, st := range r.Steps[min(1, len(r.Steps)):] {
		cmd, _, _ := strings.Cut(st, "=")
		switch cmd {
		case "upgrade --resume":
			cmd = "resume"
		}
		if len(then) == 0 || then[len(then)-1] != cmd {
			then = append(then, cmd)
		}
	}
	if len(then) > 0 {
		s += " (+" + strings.Join(then, "+") + ")"
	}
	return s
}

// Print writes the matrix as a table (faults down, phases across), then
// the failures with their reasons.
func Print(w io.Writer, rs []Result) {
	byKey := map[string]Result{}
	for _, r := range rs {
		byKey[string(r.Phase)+"/"+string(r.Fault)] = r
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprint(tw, "fault \\ phase")
	for _, p := range Phases {
		fmt.Fprintf(tw, "\t%s", p)
	}
	fmt.Fprintln(tw)
	for _, f := range Faults {
		fmt.Fprint(tw, f)
		for _, p := range Phases {
			r, ok := byKey[string(p)+"/"+string(f)]
			m := "-"
			if ok {
				m = mark(r)
			}
			fmt.Fprintf(tw, "\t%s", m)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	printTopology(w, rs)
	s := Summarize(rs)
	fmt.Fprintf(w, "\n%d passed, %d failed, %d n/a (of %d cells run or listed; '-' = not run)\n", s.Passed, s.Failed, s.NA, len(rs))
	fmt.Fprintln(w, "(+cmd) = the run paused or was killed, and the command its report named (resume, rollback, unlock) then ended it so")
	for _, r := range rs {
		if r.Passed != nil && !*r.Passed {
			fmt.Fprintf(w, "FAIL %s/%s: %s [%s]\n", r.Phase, r.Fault, r.Reason, strings.Join(r.Steps, " → "))
		}
	}
}

// printTopology lists the topology cells' results (labs of their own,
// outside the grid) with what their check verified.
func printTopology(w io.Writer, rs []Result) {
	first := true
	for _, r := range rs {
		if r.Topology == "" {
			continue
		}
		if first {
			fmt.Fprintln(w, "\non labs of their own:")
			first = false
		}
		fmt.Fprintf(w, "  %s/%s (%s lab): %s", r.Phase, r.Fault, r.Topology, mark(r))
		if r.Checked != "" {
			fmt.Fprintf(w, "; checked: %s", r.Checked)
		}
		fmt.Fprintln(w)
	}
}
