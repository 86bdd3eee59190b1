package runner

import (
	"sort"

	"github.com/kongctl/kongctl/kongver"
)

// toVersion is Y, parsed once by Spec.validate.
func (e *engine) toVersion() kongver.Version { return e.spec.to }

// fromVersion is X as the nodes report it (preflight), else upgrade.from;
// the zero Version when neither is known.
func (e *engine) fromVersion() kongver.Version {
	v, err := kongver.ParseReported(e.pf.From)
	if err != nil {
		return e.spec.from
	}
	return v
}

// sameVersion compares a reported version ("3.4.2", "Kong Enterprise
// 3.4.3.5") with a wanted one, by kongver's rule (3.4.2 is 3.4.2.0).
func sameVersion(got, want string) bool {
	g, err1 := kongver.ParseReported(got)
	w, err2 := kongver.ParseReported(want)
	if err1 != nil || err2 != nil {
		return got == want
	}
	return g.Equal(w)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
