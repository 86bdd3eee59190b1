package inventory

import (
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// VarEnvPrefix is the prefix of environment variables that override
// inventory variables: KONGCTL_VAR_name overrides variable "name".
const VarEnvPrefix = "KONGCTL_VAR_"

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "description"}},
}

// decodeVariables evaluates variable blocks into the var object. An
// environment override is taken as a string when the default is a string
// (or absent), else parsed as an HCL literal and converted to the default's
// type, so KONGCTL_VAR_port=2222 works for a number.
func (d *decoder) decodeVariables(blocks hcl.Blocks) cty.Value {
	vars := map[string]cty.Value{}
	first := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			d.errorf(b.LabelRanges[0], "Invalid variable name",
				"%q is not a valid variable name: use letters, digits, underscores and dashes, starting with a letter.", name)
			continue
		}
		if prev, dup := first[name]; dup {
			d.errorf(b.LabelRanges[0], "Duplicate variable", "The variable %q was already declared at %s. Remove one of them.", name, posString(prev))
			continue
		}
		first[name] = b.LabelRanges[0]
		c := d.content(b.Body, variableSchema)
		desc := ""
		if at, ok := c.Attributes["description"]; ok {
			if x, ok := d.str(at); ok && x != "" {
				desc = " (" + x + ")"
			}
		}
		val := cty.NullVal(cty.DynamicPseudoType)
		if at, ok := c.Attributes["default"]; ok {
			v, diags := at.Expr.Value(d.ctx)
			d.add(diags...)
			if !diags.HasErrors() {
				val = v
			}
		}
		if s, ok := os.LookupEnv(VarEnvPrefix + name); ok {
			val = d.envVar(name, s, val, b.LabelRanges[0])
		}
		if val.IsNull() {
			d.errorf(b.LabelRanges[0], "Missing variable value",
				"The variable %q%s has no value. Give it a default (default = ...) or set the environment variable %s%s.", name, desc, VarEnvPrefix, name)
			val = cty.DynamicVal
		}
		vars[name] = val
	}
	return cty.ObjectVal(vars)
}

func (d *decoder) envVar(name, s string, def cty.Value, rng hcl.Range) cty.Value {
	if def.IsNull() || def.Type() == cty.String {
		return cty.StringVal(s)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), VarEnvPrefix+name, hcl.InitialPos)
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = expr.Value(nil)
		if !diags.HasErrors() {
			if cv, err := convert.Convert(v, def.Type()); err == nil {
				return cv
			}
		}
	}
	d.errorf(rng, "Invalid variable override",
		"The environment variable %s%s=%q cannot be used for variable %q, whose default is a %s. Write a value of that type in HCL syntax, e.g. 2222, true or [\"a\", \"b\"].",
		VarEnvPrefix, name, s, name, def.Type().FriendlyName())
	return def
}
