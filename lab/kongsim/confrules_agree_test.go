package kongsim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// kongctl's table of removed kong.conf properties (upgradepath.ConfRules,
// what preflight warns about) and the simulator's loader (what the lab's
// Kong does) must agree: every simulated release drops a ConfRemoved key
// exactly from the rule's Gone series on, and only in the rule's edition.
func TestConfRemovalsAgreeWithUpgradePath(t *testing.T) {
	for _, rule := range upgradepath.ConfRules {
		if rule.Kind != upgradepath.ConfRemoved {
			continue
		}
		key := rule.Key
		if strings.HasSuffix(key, "_") {
			key += "example"
		}
		var major, minor int
		if _, err := fmt.Sscanf(rule.Gone, "%d.%d", &major, &minor); err != nil {
			t.Fatalf("rule %s: Gone %q: %v", rule.Key, rule.Gone, err)
		}
		for _, r := range Releases {
			want := r.AtLeast(major, minor) && (!rule.Enterprise || r.EE())
			if got := r.removedKey(key); got != want {
				t.Errorf("%s %s: drops %s = %v, upgradepath says %v (gone in %s, enterprise only %v)", r.Edition, r.Version, key, got, want, rule.Gone, rule.Enterprise)
			}
		}
	}
}
