// Package kongver is kongctl's one Kong Gateway version type: what users
// type (upgrade.to, --to), what Kong prints (`kong version`, the Admin API,
// package names) and how two versions order. Standard library only: the
// agent uses it too.
//
// # Three and four parts
//
// Kong Gateway (OSS) versions have three numbers, major.minor.patch
// (3.4.2). Kong Gateway Enterprise versions have four (3.4.3.5): the
// Enterprise build of the OSS line major.minor.patch; `kong version` of
// Enterprise prints "Kong Enterprise 3.4.3.5", and meta._VERSION reads
// "3.6.0.0-enterprise-edition" (kong-reference 5, "Version strings").
//
// The one rule: a missing fourth number is 0. 3.4.2 and 3.4.2.0 are the
// same point of the release line: Compare finds them equal and Equal holds.
// The edition (OSS or Enterprise) is a separate fact, never read from the
// number of parts alone; String keeps the parts a version was written
// with, so an Enterprise version prints with four.
//
// Package revisions (the "-1" of 3.4.2-1, rpm's release, an epoch) are not
// Kong versions: their order is the package manager's (dpkg
// --compare-versions, rpm's vercmp), never this package's.
package kongver

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Kong Gateway version. The zero Version is unset.
type Version struct {
	Major, Minor, Patch int
	// Build is the fourth number of an Enterprise version; 0 when Parts
	// is 3.
	Build int
	// Parts is how many numbers the version was written with: 3 or 4 (0
	// for the zero Version).
	Parts int
}

// maxDigits bounds each number, so that no part overflows an int.
const maxDigits = 6

// Parse reads a version a user typed: exactly x.y.z (Kong Gateway) or
// x.y.z.w (Kong Gateway Enterprise), decimal numbers without sign, space or
// leading zero.
func Parse(s string) (Version, error) {
	v, err := parseParts(s, 3, 4, true)
	if err != nil {
		return Version{}, fmt.Errorf("parse version %q: %w (want x.y.z for Kong Gateway or x.y.z.w for Kong Gateway Enterprise)", s, err)
	}
	return v, nil
}

// MustParse is Parse for literals known to be valid; it panics otherwise.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// ParseSeries reads a release series, "x.y" (3.4), as the version x.y.0.
func ParseSeries(s string) (Version, error) {
	v, err := parseParts(s, 2, 2, true)
	if err != nil {
		return Version{}, fmt.Errorf("parse series %q: %w (want x.y)", s, err)
	}
	v.Parts = 3
	return v, nil
}

// ParseReported reads a version as Kong or its packages print it: the
// first x.y.z or x.y.z.w in the first line, whatever surrounds it ("3.4.2",
// "Kong Enterprise 3.9.0.0", "Kong: 3.4.2", "3.6.0.0-enterprise-edition",
// "v3.4.2", the version of a package "3.4.2-1"). Leading zeros are
// accepted; a two-part "3.4" is not a version.
func ParseReported(s string) (Version, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	for i := 0; i < len(first); i++ {
		if !isDigit(first[i]) || i > 0 && (isDigit(first[i-1]) || first[i-1] == '.') {
			continue
		}
		j := i
		for j < len(first) && (isDigit(first[j]) || first[j] == '.' && j+1 < len(first) && isDigit(first[j+1])) {
			j++
		}
		if v, err := parseParts(first[i:j], 3, 4, false); err == nil {
			return v, nil
		}
		i = j
	}
	return Version{}, fmt.Errorf("parse version from %q: no x.y.z or x.y.z.w in it", first)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func parseParts(s string, min, max int, strict bool) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < min || len(parts) > max {
		return Version{}, fmt.Errorf("%d dot-separated numbers", len(parts))
	}
	var n [4]int
	for i, p := range parts {
		if p == "" || len(p) > maxDigits || strict && len(p) > 1 && p[0] == '0' {
			return Version{}, fmt.Errorf("%q is not a version number", p)
		}
		for j := 0; j < len(p); j++ {
			if !isDigit(p[j]) {
				return Version{}, fmt.Errorf("%q is not a version number", p)
			}
		}
		n[i], _ = strconv.Atoi(p)
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2], Build: n[3], Parts: len(parts)}, nil
}

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v.Parts == 0 }

// FourPart reports whether v was written with four numbers, as Kong
// Gateway Enterprise versions are.
func (v Version) FourPart() bool { return v.Parts == 4 }

// String formats v with the parts it was written with; "" when unset.
func (v Version) String() string {
	switch v.Parts {
	case 0:
		return ""
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, v.Build)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Series is "major.minor", e.g. "3.4".
func (v Version) Series() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than
// w. A missing fourth number is 0: 3.4.2 equals 3.4.2.0.
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

// Equal reports whether v and w are the same release point (Compare 0).
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Core is v's major.minor.patch, the Enterprise build dropped: the OSS
// release line an Enterprise version is built on, which Kong's upgrade
// paths are stated in.
func (v Version) Core() Version {
	if v.IsZero() {
		return v
	}
	return Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch, Parts: 3}
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// MarshalText writes v as String does.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads what MarshalText wrote ("" is the zero Version).
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	w, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = w
	return nil
}
