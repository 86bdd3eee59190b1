package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Kong version: x.y.z for Kong Gateway (OSS), x.y.z.w for Kong
// Gateway Enterprise.
type Version struct {
	Major, Minor, Patch int
	Build               int  // the fourth number of an Enterprise version
	HasBuild            bool // whether the version has four numbers
}

// ParseVersion parses "3.4.2" or "3.4.3.1".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return Version{}, fmt.Errorf("parse version %q: want x.y.z (Kong Gateway) or x.y.z.w (Enterprise)", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '0') || len(p) > 6 {
			return Version{}, fmt.Errorf("parse version %q: %q is not a number", s, p)
		}
		nums[i] = n
	}
	v := Version{Major: nums[0], Minor: nums[1], Patch: nums[2]}
	if len(nums) == 4 {
		v.Build, v.HasBuild = nums[3], true
	}
	return v, nil
}

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v == Version{} }

// String formats v as given in the inventory.
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	if v.HasBuild {
		return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, v.Build)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	a := [4]int{v.Major, v.Minor, v.Patch, v.Build}
	b := [4]int{o.Major, o.Minor, o.Patch, o.Build}
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

// MajorMinor returns "x.y".
func (v Version) MajorMinor() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }
