// Package upgradepath holds kongctl's upgrade-path policy (which X→Y jumps
// Kong supports), hybrid control-plane/data-plane compatibility, and the
// known kong.conf settings that break on a newer version. Everything here is
// pure: no I/O, table-tested.
package upgradepath

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Kong version. OSS versions have three parts (3.4.2),
// Enterprise versions four (3.4.3.5). Build is -1 for a three-part version.
type Version struct {
	Major, Minor, Patch int
	Build               int
}

// Parse reads "3.4.2", "3.4.3.5", "Kong Enterprise 3.9.0.0" or
// "3.6.0.0-enterprise-edition".
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	raw = strings.TrimPrefix(raw, "Kong Enterprise ")
	raw = strings.TrimPrefix(raw, "Kong ")
	raw = strings.TrimPrefix(raw, "v")
	if i := strings.IndexAny(raw, "-+ "); i >= 0 {
		raw = raw[:i]
	}
	parts := strings.Split(raw, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return Version{}, fmt.Errorf("parse kong version %q: want 2 to 4 dot-separated numbers", s)
	}
	nums := []int{0, 0, 0, -1}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("parse kong version %q: %q is not a number", s, p)
		}
		nums[i] = n
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Build: nums[3]}, nil
}

// MustParse is Parse for literals known to be valid; it panics otherwise.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String prints the version with as many parts as it was parsed with.
func (v Version) String() string {
	if v.Build >= 0 {
		return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, v.Build)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Series is "major.minor", e.g. "3.4".
func (v Version) Series() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare orders versions on all four parts (a missing fourth part sorts
// before .0). It returns -1, 0 or +1.
func (v Version) Compare(w Version) int {
	a := [4]int{v.Major, v.Minor, v.Patch, v.Build}
	b := [4]int{w.Major, w.Minor, w.Patch, w.Build}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// Compare3 orders versions on their first three parts only, as the path
// policy does for Enterprise four-part versions.
func (v Version) Compare3(w Version) int {
	v.Build, w.Build = 0, 0
	return v.Compare(w)
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}
