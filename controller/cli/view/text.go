package view

import (
	"cmp"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/kongctl/kongctl/controller"
)

// The pieces every text view is made of.

// columns are aligned columns written into b, two spaces apart; Flush
// them once their rows are in.
func columns(b *strings.Builder) *tabwriter.Writer {
	return tabwriter.NewWriter(b, 0, 2, 2, ' ', 0)
}

// section starts a block of columns under a title of its own, after a
// blank line: "\ntitle:\n".
func section(b *strings.Builder, title string) *tabwriter.Writer {
	fmt.Fprintf(b, "\n%s:\n", title)
	return columns(b)
}

func findingLine(f controller.Finding) string {
	where := ""
	if f.Host != "" {
		where = " [" + f.Host + "]"
	}
	s := fmt.Sprintf("%s%s: %s\n", f.Severity, where, f.Message)
	if f.Fix != "" {
		s += "    fix: " + f.Fix + "\n"
	}
	return s
}

// dash shows an unknown value (a version not read) as "-".
func dash(s string) string { return cmp.Or(s, "-") }
