package upgradepath

import (
	"fmt"

	"github.com/kongctl/kongctl/kongver"
)

// DPCompatible applies Kong's hybrid rule (kong-reference 6.9): a data
// plane's major must equal the control plane's and its minor must be no
// newer; patch levels are ignored. The string explains a refusal.
func DPCompatible(cp, dp kongver.Version) (bool, string) {
	if dp.Major != cp.Major {
		return false, fmt.Sprintf("data plane %s and control plane %s differ in major version", dp, cp)
	}
	if dp.Minor > cp.Minor {
		return false, fmt.Sprintf("data plane %s is a newer minor than control plane %s", dp, cp)
	}
	return true, ""
}
