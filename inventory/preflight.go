package inventory

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// Preflight tunes preflight's refusals.
type Preflight struct {
	// Accept are kong.conf properties the operator acknowledges: their
	// findings from kongctl's table of properties removed or renamed
	// between X and Y (and from Y's own kong check / kong prepare) are
	// reported but do not stop the upgrade.
	Accept []string
	// AcceptRange is the accept attribute's value, for diagnostics.
	AcceptRange hcl.Range
}

var preflightSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "accept"}},
}

// confKeyRE is a kong.conf property name as Kong reads it (lower case).
var confKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (d *decoder) decodePreflight(block *hcl.Block) *Preflight {
	p := &Preflight{}
	c := d.content(block.Body, preflightSchema)
	at, ok := c.Attributes["accept"]
	if !ok {
		return p
	}
	v, ok := d.strList(at)
	if !ok {
		return p
	}
	p.AcceptRange = at.Expr.Range()
	seen := map[string]bool{}
	for _, k := range v {
		switch {
		case !confKeyRE.MatchString(k):
			d.errorf(at.Expr.Range(), "Invalid kong.conf property",
				"%q is not a kong.conf property name: write it as in kong.conf, in lower case (e.g. \"nginx_optimizations\").", k)
		case seen[k]:
			d.errorf(at.Expr.Range(), "Duplicate property", "%q is listed twice in preflight.accept.", k)
		default:
			seen[k] = true
			p.Accept = append(p.Accept, k)
		}
	}
	return p
}
