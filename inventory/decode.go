package inventory

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	hclfuncs "github.com/kongctl/kongctl/hcl/funcs"
)

// decoder evaluates attributes and collects diagnostics for one load.
type decoder struct {
	ctx   *hcl.EvalContext
	dir   string
	home  func() (string, error)
	diags hcl.Diagnostics
}

func (d *decoder) add(diags ...*hcl.Diagnostic) { d.diags = append(d.diags, diags...) }

func (d *decoder) errorf(subject hcl.Range, summary, detailFormat string, args ...any) {
	d.diagf(hcl.DiagError, subject, summary, detailFormat, args...)
}

func (d *decoder) warnf(subject hcl.Range, summary, detailFormat string, args ...any) {
	d.diagf(hcl.DiagWarning, subject, summary, detailFormat, args...)
}

// diagf adds a diagnostic of severity sev at subject (its file:line:col).
func (d *decoder) diagf(sev hcl.DiagnosticSeverity, subject hcl.Range, summary, detailFormat string, args ...any) {
	d.add(&hcl.Diagnostic{
		Severity: sev,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  &subject,
	})
}

// content decodes body strictly against schema. hcl's own diagnostics for
// unknown arguments and blocks carry a "Did you mean" suggestion when a name
// is close; when none is, the detail gets the list of valid names instead.
func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := body.Content(schema)
	for _, diag := range diags {
		switch diag.Summary {
		case "Unsupported argument", "Unsupported block type", "Extraneous JSON object property":
			if !strings.Contains(diag.Detail, "Did you mean") {
				diag.Detail += " " + validNames(schema)
			}
			explainRemoved(diag, schema)
		}
	}
	d.add(dropMissingIfMisspelt(diags)...)
	if c == nil {
		c = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	return c
}

func validNames(schema *hcl.BodySchema) string {
	var attrs, blocks []string
	for _, a := range schema.Attributes {
		attrs = append(attrs, a.Name)
	}
	for _, b := range schema.Blocks {
		blocks = append(blocks, b.Type)
	}
	sort.Strings(attrs)
	sort.Strings(blocks)
	var parts []string
	if len(attrs) > 0 {
		parts = append(parts, "Valid arguments here are: "+strings.Join(attrs, ", ")+".")
	}
	if len(blocks) > 0 {
		parts = append(parts, "Valid blocks here are: "+strings.Join(blocks, ", ")+".")
	}
	if len(parts) == 0 {
		return "Nothing may be set here."
	}
	return strings.Join(parts, " ")
}

// single returns the only block of a type, reporting any repeat with the
// position of the first.
func (d *decoder) single(blocks hcl.Blocks, what string) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "Duplicate "+what+" block",
			"Only one %s block is allowed; the first one is at %s. Merge the settings into that block.",
			what, posString(blocks[0].DefRange))
	}
	return blocks[0]
}

// value evaluates attr and converts the result to ty. ok is false when a
// diagnostic was reported, or the value is null.
func (d *decoder) value(attr *hcl.Attribute, ty cty.Type, what string) (cty.Value, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.errorf(attr.Expr.Range(), "Unknown value", "The value of %q cannot be known when the inventory is loaded. Use a literal, a variable, env() or file().", attr.Name)
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(attr.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s required, got %s.", attr.Name, what, v.Type().FriendlyName())
		return cty.NilVal, false
	}
	if cv.IsNull() {
		return cty.NilVal, false
	}
	return cv, true
}

func (d *decoder) str(attr *hcl.Attribute) (string, bool) {
	v, ok := d.value(attr, cty.String, "a string is")
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// nonEmpty is str that also rejects "".
func (d *decoder) nonEmpty(attr *hcl.Attribute) (string, bool) {
	s, ok := d.str(attr)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(attr.Expr.Range(), "Empty value", "The argument %q must not be empty.", attr.Name)
		return "", false
	}
	return s, ok
}

func (d *decoder) strList(attr *hcl.Attribute) ([]string, bool) {
	v, ok := d.value(attr, cty.List(cty.String), "a list of strings is")
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.errorf(attr.Expr.Range(), "Null list element", "The list %q must not contain null.", attr.Name)
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

func (d *decoder) boolean(attr *hcl.Attribute) (bool, bool) {
	v, ok := d.value(attr, cty.Bool, "a bool is")
	if !ok {
		return false, false
	}
	return v.True(), true
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(attr *hcl.Attribute, lo, hi int) (int, bool) {
	v, ok := d.value(attr, cty.Number, "a number is")
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.errorf(attr.Expr.Range(), "Invalid number", "The argument %q must be a whole number.", attr.Name)
		return 0, false
	}
	n, acc := bf.Int64()
	if acc != big.Exact || n < int64(lo) || n > int64(hi) {
		d.errorf(attr.Expr.Range(), "Number out of range", "The argument %q must be between %d and %d.", attr.Name, lo, hi)
		return 0, false
	}
	return int(n), true
}

// float decodes a number in [lo, hi].
func (d *decoder) float(attr *hcl.Attribute, lo, hi float64) (float64, bool) {
	v, ok := d.value(attr, cty.Number, "a number is")
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if f < lo || f > hi {
		d.errorf(attr.Expr.Range(), "Number out of range", "The argument %q must be between %g and %g.", attr.Name, lo, hi)
		return 0, false
	}
	return f, true
}

// duration decodes a Go duration string such as "90s" or "5m"; it must be
// positive unless zeroOK.
func (d *decoder) duration(attr *hcl.Attribute, zeroOK bool) (time.Duration, bool) {
	s, ok := d.str(attr)
	if !ok {
		return 0, false
	}
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		d.errorf(attr.Expr.Range(), "Invalid duration",
			"The argument %q must be a duration such as \"30s\", \"5m\" or \"1h30m\" (units ns, us, ms, s, m, h); %q is not one.", attr.Name, s)
		return 0, false
	}
	if dur < 0 || (dur == 0 && !zeroOK) {
		d.errorf(attr.Expr.Range(), "Invalid duration", "The argument %q must be a positive duration, such as \"30s\".", attr.Name)
		return 0, false
	}
	return dur, true
}

// oneOf decodes a string that must be one of allowed.
func (d *decoder) oneOf(attr *hcl.Attribute, allowed ...string) (string, bool) {
	s, ok := d.str(attr)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	d.errorf(attr.Expr.Range(), "Invalid value for "+attr.Name,
		"%q is not a valid %s.%s The valid values are %s.", s, attr.Name, didYouMean(s, allowed), quoteList(allowed))
	return "", false
}

// path decodes a file system path, expanding "~" and resolving it against
// the inventory's directory.
func (d *decoder) path(attr *hcl.Attribute) (string, bool) {
	s, ok := d.nonEmpty(attr)
	if !ok {
		return "", false
	}
	p, err := hclfuncs.ExpandPath(s, d.dir, d.home)
	if err != nil {
		d.errorf(attr.Expr.Range(), "Invalid path", "Cannot resolve the path in %q: %s.", attr.Name, err)
		return "", false
	}
	return p, true
}

func (d *decoder) paths(attr *hcl.Attribute) ([]string, bool) {
	list, ok := d.strList(attr)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := hclfuncs.ExpandPath(s, d.dir, d.home)
		if err != nil || p == "" {
			d.errorf(attr.Expr.Range(), "Invalid path", "Every element of %q must be a non-empty path; %q is not usable.", attr.Name, s)
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// posString formats a range's start as file:line:col.
func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	switch len(q) {
	case 0:
		return "(none)"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// dropMissingIfMisspelt removes "Missing required argument" for a name that
// an "Unsupported argument" diagnostic already suggests ("adress" -> "Did
// you mean "address"?"): the typo is the one problem to fix.
func dropMissingIfMisspelt(diags hcl.Diagnostics) hcl.Diagnostics {
	suggested := map[string]bool{}
	for _, d := range diags {
		if d.Summary == "Unsupported argument" || d.Summary == "Extraneous JSON object property" {
			if name := quoted(d.Detail, `Did you mean "`); name != "" {
				suggested[name] = true
			}
		}
	}
	if len(suggested) == 0 {
		return diags
	}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Summary == "Missing required argument" {
			if name := quoted(d.Detail, `The argument "`); name != "" && suggested[name] {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// setAttr decodes the attribute name of attrs, when it is there, with
// read and stores a valid value in dst; read reports an invalid one.
func setAttr[T any](attrs hcl.Attributes, name string, dst *T, read func(*hcl.Attribute) (T, bool)) {
	if at, ok := attrs[name]; ok {
		if v, ok := read(at); ok {
			*dst = v
		}
	}
}

// intIn, floatIn, durationOf and choice are the readers integer, float,
// duration and oneOf with their bounds given, for setAttr.
func (d *decoder) intIn(lo, hi int) func(*hcl.Attribute) (int, bool) {
	return func(at *hcl.Attribute) (int, bool) { return d.integer(at, lo, hi) }
}

func (d *decoder) floatIn(lo, hi float64) func(*hcl.Attribute) (float64, bool) {
	return func(at *hcl.Attribute) (float64, bool) { return d.float(at, lo, hi) }
}

func (d *decoder) durationOf(zeroOK bool) func(*hcl.Attribute) (time.Duration, bool) {
	return func(at *hcl.Attribute) (time.Duration, bool) { return d.duration(at, zeroOK) }
}

func (d *decoder) choice(allowed ...string) func(*hcl.Attribute) (string, bool) {
	return func(at *hcl.Attribute) (string, bool) { return d.oneOf(at, allowed...) }
}

// quoted returns the name hcl quotes after prefix in a diagnostic's
// detail (the text up to the next double quote), or "" when prefix is
// not there or the quote is not closed.
func quoted(s, prefix string) string {
	_, after, ok := strings.Cut(s, prefix)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(after, `"`)
	if !ok {
		return ""
	}
	return name
}
