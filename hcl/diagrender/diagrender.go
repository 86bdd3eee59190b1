// Package diagrender renders hcl.Diagnostics, the one place kongctl turns
// configuration problems into text: with source snippets for a terminal
// (Snippet), one compiler-style line per problem for logs, editors and CI
// (Plain), and JSON for machines (JSON).
package diagrender

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Format selects a rendering.
type Format int

// Formats.
const (
	FormatPlain   Format = iota // file:line:col: error: summary
	FormatSnippet               // hcl's text writer, source snippet with a marker
	FormatJSON                  // a JSON document
)

// Options tune Write.
type Options struct {
	Format Format
	Files  map[string]*hcl.File // parsed sources, for snippets
	Width  uint                 // wrap width for snippets; 0 = no wrapping
	Color  bool                 // ANSI colour in snippets
}

// Secret is implemented by a diagnostic's Extra when the source it points
// at holds a secret (an inline password): every renderer masks
// SecretRange in source snippets with '*'.
type Secret interface {
	SecretRange() hcl.Range
}

// redact returns files with the secret ranges of diags masked. Files
// without secrets are shared, not copied.
func redact(files map[string]*hcl.File, diags hcl.Diagnostics) map[string]*hcl.File {
	out := files
	for _, d := range diags {
		s, ok := d.Extra.(Secret)
		if !ok {
			continue
		}
		r := s.SecretRange()
		f := out[r.Filename]
		if f == nil || r.Start.Byte < 0 || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
			continue
		}
		cp := make(map[string]*hcl.File, len(out))
		for k, v := range out {
			cp[k] = v
		}
		b := append([]byte(nil), f.Bytes...)
		for i := r.Start.Byte; i < r.End.Byte; i++ {
			if b[i] != '\n' {
				b[i] = '*'
			}
		}
		cp[r.Filename] = &hcl.File{Body: f.Body, Bytes: b, Nav: f.Nav}
		out = cp
	}
	return out
}

// Write renders diags to w in the chosen format.
func Write(w io.Writer, diags hcl.Diagnostics, opts Options) error {
	opts.Files = redact(opts.Files, diags)
	switch opts.Format {
	case FormatSnippet:
		return Snippet(w, diags, opts.Files, opts.Width, opts.Color)
	case FormatJSON:
		return JSON(w, diags, opts.Files)
	}
	return Plain(w, diags)
}

// Snippet writes diagnostics with hcl's text writer: summary, source
// snippet with the problem marked, then the detail.
func Snippet(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	if files == nil {
		files = map[string]*hcl.File{}
	}
	files = redact(files, diags)
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// Plain writes one "file:line:col: error: summary" line per diagnostic,
// followed by its detail, each line indented by two spaces. hcl's
// Range.String() form (file:line,col-col) is not understood by editors, so
// this one is formatted here.
func Plain(w io.Writer, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if _, err := fmt.Fprintf(w, "%s%s: %s\n", location(d.Subject), severity(d.Severity), d.Summary); err != nil {
			return err
		}
		if d.Detail == "" {
			continue
		}
		for _, l := range strings.Split(d.Detail, "\n") {
			if _, err := fmt.Fprintf(w, "  %s\n", l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Location formats a range's start as "file:line:col"; "" for nil.
func Location(r *hcl.Range) string {
	if r == nil {
		return ""
	}
	if r.Filename == "" {
		return fmt.Sprintf("%d:%d", r.Start.Line, r.Start.Column)
	}
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func location(r *hcl.Range) string {
	if l := Location(r); l != "" {
		return l + ": "
	}
	return ""
}

func severity(s hcl.DiagnosticSeverity) string {
	switch s {
	case hcl.DiagError:
		return "error"
	case hcl.DiagWarning:
		return "warning"
	}
	return "invalid"
}

// Document is the JSON form of a set of diagnostics.
type Document struct {
	Valid        bool         `json:"valid"`
	ErrorCount   int          `json:"error_count"`
	WarningCount int          `json:"warning_count"`
	Diagnostics  []Diagnostic `json:"diagnostics"`
}

// Diagnostic is the JSON form of one diagnostic.
type Diagnostic struct {
	Severity string         `json:"severity"`
	Summary  string         `json:"summary"`
	Detail   string         `json:"detail,omitempty"`
	Range    *Range         `json:"range,omitempty"`
	Snippet  *SourceSnippet `json:"snippet,omitempty"`
}

// Range is a source range; lines and columns count from 1, bytes from 0.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Pos is a source position.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// SourceSnippet is the source line(s) a diagnostic points at.
type SourceSnippet struct {
	StartLine int    `json:"start_line"`
	Code      string `json:"code"`
	// HighlightStartOffset and HighlightEndOffset are byte offsets of the
	// marked range within Code.
	HighlightStartOffset int `json:"highlight_start_offset"`
	HighlightEndOffset   int `json:"highlight_end_offset"`
}

// NewDocument converts diags to their JSON form.
func NewDocument(diags hcl.Diagnostics, files map[string]*hcl.File) *Document {
	files = redact(files, diags)
	doc := &Document{Diagnostics: []Diagnostic{}}
	for _, d := range diags {
		jd := Diagnostic{Severity: severity(d.Severity), Summary: d.Summary, Detail: d.Detail}
		switch d.Severity {
		case hcl.DiagError:
			doc.ErrorCount++
		case hcl.DiagWarning:
			doc.WarningCount++
		}
		if r := d.Subject; r != nil {
			jd.Range = &Range{
				Filename: r.Filename,
				Start:    Pos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      Pos{r.End.Line, r.End.Column, r.End.Byte},
			}
			jd.Snippet = snippet(r, files)
		}
		doc.Diagnostics = append(doc.Diagnostics, jd)
	}
	doc.Valid = doc.ErrorCount == 0
	return doc
}

// snippet returns the whole lines covering r.
func snippet(r *hcl.Range, files map[string]*hcl.File) *SourceSnippet {
	f := files[r.Filename]
	if f == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) || r.End.Byte < r.Start.Byte {
		return nil
	}
	src := f.Bytes
	start := r.Start.Byte
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := r.End.Byte
	if end > start && end > r.Start.Byte && src[end-1] == '\n' {
		end--
	}
	for end < len(src) && src[end] != '\n' {
		end++
	}
	return &SourceSnippet{
		StartLine:            r.Start.Line,
		Code:                 strings.TrimRight(string(src[start:end]), "\r"),
		HighlightStartOffset: r.Start.Byte - start,
		HighlightEndOffset:   min(r.End.Byte, end) - start,
	}
}

// JSON writes diags as an indented Document.
func JSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(diags, files))
}
