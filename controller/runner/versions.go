package runner

import (
	"sort"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

func (e *engine) toVersion() upgradepath.Version {
	v, _ := upgradepath.Parse(e.spec.To)
	return v
}

func (e *engine) fromVersion() upgradepath.Version {
	v, _ := upgradepath.Parse(e.pf.From)
	return v
}

// sameVersion compares reported versions ("3.4.2", "Kong Enterprise
// 3.4.3.5") with a wanted one.
func sameVersion(got, want string) bool {
	g, err1 := upgradepath.Parse(got)
	w, err2 := upgradepath.Parse(want)
	if err1 != nil || err2 != nil {
		return got == want
	}
	if g.Build < 0 || w.Build < 0 {
		return g.Compare3(w) == 0
	}
	return g.Compare(w) == 0
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
