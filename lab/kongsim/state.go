package kongsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MetaRow is one schema_meta row (reference 2.1).
type MetaRow struct {
	Subsystem    string
	LastExecuted string
	Executed     []string
	Pending      []string
}

// Section is one subsystem's share of executed/pending/new/missing.
type Section struct {
	Subsystem  string
	Namespace  string
	Migrations []Migration
}

// Names of the section's migrations.
func (s Section) Names() []string {
	out := make([]string, len(s.Migrations))
	for i, m := range s.Migrations {
		out[i] = m.Name
	}
	return out
}

// State is the schema state of reference 1.4.
type State struct {
	NeedsBootstrap bool
	Executed       []Section
	Pending        []Section
	New            []Section
	Missing        []Section
}

// UpToDate: bootstrapped and no new migrations (pending ones do not count).
func (s State) UpToDate() bool { return !s.NeedsBootstrap && len(s.New) == 0 }

// Count totals the migrations of sections.
func Count(secs []Section) int {
	n := 0
	for _, s := range secs {
		n += len(s.Migrations)
	}
	return n
}

// Classify computes the state of a catalogue against schema_meta rows: a
// migration is executed if listed in executed, else pending if listed in
// pending, else new if after last_executed in code order (or nothing of the
// subsystem was executed), else missing. Names the binary does not know are
// ignored.
func Classify(cat []Subsystem, rows map[string]MetaRow, needsBootstrap bool) State {
	st := State{NeedsBootstrap: needsBootstrap}
	if needsBootstrap {
		return st
	}
	for _, ss := range cat {
		row, ok := rows[ss.Name]
		var ex, pe, nw, mi []Migration
		lastIdx := -1
		if ok && row.LastExecuted != "" {
			lastIdx = slices.IndexFunc(ss.Migrations, func(m Migration) bool { return m.Name == row.LastExecuted })
		}
		for i, mig := range ss.Migrations {
			switch {
			case ok && slices.Contains(row.Executed, mig.Name):
				ex = append(ex, mig)
			case ok && slices.Contains(row.Pending, mig.Name):
				pe = append(pe, mig)
			case i > lastIdx:
				nw = append(nw, mig)
			default:
				mi = append(mi, mig)
			}
		}
		add := func(dst *[]Section, ms []Migration) {
			if len(ms) > 0 {
				*dst = append(*dst, Section{Subsystem: ss.Name, Namespace: ss.Namespace, Migrations: ms})
			}
		}
		add(&st.Executed, ex)
		add(&st.Pending, pe)
		add(&st.New, nw)
		add(&st.Missing, mi)
	}
	return st
}

// FormatSections renders sections as Kong's list does: one line per
// subsystem, the name right-aligned to the longest name of the section.
func FormatSections(secs []Section) string {
	width := 0
	for _, s := range secs {
		width = max(width, len(s.Subsystem))
	}
	var b strings.Builder
	for i, s := range secs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%*s: %s", width, s.Subsystem, strings.Join(s.Names(), ", "))
	}
	return b.String()
}

// NeedsBootstrapMsg is Kong's NEEDS_BOOTSTRAP_MSG (it ends with two
// newlines; the grammar slip and trailing space are Kong's).
const NeedsBootstrapMsg = "Database needs bootstrapping or is older than Kong 1.0.\n\n" +
	"To start a new installation from scratch, run 'kong migrations bootstrap'.\n\n" +
	"To migrate from a version older than 1.0, migrated to Kong 1.5.0 first. \n" +
	"If you still have 'apis' entities, you can convert them to Routes and Services\n" +
	"using the 'kong migrations migrate-apis' command in Kong 1.5.0.\n\n"

// ListResult is what `kong migrations list` prints and its exit code.
type ListResult struct {
	Stdout string
	Stderr string // the warn line, without its timestamp prefix
	Code   int
}

// FormatList renders `kong migrations list` for a state (reference 1.3,
// following kong/cmd/migrations.lua: each section is preceded by a blank
// line unless it is the first).
func FormatList(st State, database, metaVersion string) ListResult {
	if st.NeedsBootstrap {
		return ListResult{Stdout: NeedsBootstrapMsg + "\n", Code: 3}
	}
	var b strings.Builder
	r := ""
	section := func(title string, secs []Section) {
		if len(secs) > 0 {
			b.WriteString(r + title + ":\n" + FormatSections(secs) + "\n")
			r = "\n"
		}
	}
	section("Executed migrations", st.Executed)
	section("Pending migrations", st.Pending)
	section("New migrations available", st.New)
	switch {
	case len(st.Pending) > 0 && len(st.New) > 0:
		if r != "" {
			b.WriteString("\n")
		}
		b.WriteString("\nRun 'kong migrations finish' when ready to complete pending migrations (" +
			database + " database will be incompatible with the previous Kong version)\n")
		return ListResult{Stdout: b.String(), Code: 4,
			Stderr: "Database has pending migrations from a previous upgrade, and new migrations from this upgrade (version " + metaVersion + ")"}
	case len(st.Pending) > 0:
		b.WriteString("\nRun 'kong migrations finish' when ready\n")
		return ListResult{Stdout: b.String(), Code: 4}
	case len(st.New) > 0:
		b.WriteString("\nRun 'kong migrations up' to proceed\n")
		return ListResult{Stdout: b.String(), Code: 5}
	}
	return ListResult{Stdout: b.String(), Code: 0}
}

// errStatusMissing mimics cjson failing on the functions that Kong leaves
// in missing_migrations.
var errStatusMissing = errors.New("Cannot serialise function: type not supported")

// StatusJSON is `kong migrations status` (3.0+): one JSON line.
func StatusJSON(st State) (string, error) {
	if len(st.Missing) > 0 {
		return "", errStatusMissing
	}
	type sec struct {
		Subsystem  string   `json:"subsystem"`
		Namespace  string   `json:"namespace"`
		Migrations []string `json:"migrations"`
	}
	conv := func(ss []Section) []sec {
		out := make([]sec, len(ss))
		for i, s := range ss {
			out[i] = sec{s.Subsystem, s.Namespace, s.Names()}
		}
		return out
	}
	v := map[string]any{"needs_bootstrap": st.NeedsBootstrap}
	if len(st.Executed) > 0 {
		v["executed_migrations"] = conv(st.Executed)
	}
	if len(st.Pending) > 0 {
		v["pending_migrations"] = conv(st.Pending)
	}
	if len(st.New) > 0 {
		v["new_migrations"] = conv(st.New)
	}
	b, err := json.Marshal(v)
	return string(b), err
}
