package kongsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Edition names as `-X main.edition=` takes them.
const (
	EditionOSS        = "oss"
	EditionEnterprise = "enterprise"
)

// Release is one simulated Kong version.
type Release struct {
	Version string // package version: 3.4.2 (OSS) or 3.4.3.5 (Enterprise)
	Edition string // EditionOSS or EditionEnterprise
	Major   int
	Minor   int
	Patch   int
}

// Releases are the versions `make packages` ships, oldest first.
var Releases = []Release{
	MustRelease("2.8.4", EditionOSS),
	MustRelease("3.4.2", EditionOSS),
	// The OSS minors between the 3.4 LTS and 3.9, for the upgrade chain
	// 3.4→3.5 … 3.8→3.9 (controller/upgradepath): the last patch of each
	// (Kong/kong tags).
	MustRelease("3.5.0", EditionOSS),
	MustRelease("3.6.1", EditionOSS),
	MustRelease("3.7.1", EditionOSS),
	MustRelease("3.8.1", EditionOSS),
	MustRelease("3.9.1", EditionOSS),
	// The last OSS release (kong-reference 3.1): the same migrations,
	// defaults and CLI as 3.9.1 (Kong/kong 3.9.1..3.9.3 changes nginx
	// security patches only).
	MustRelease("3.9.3", EditionOSS),
	MustRelease("3.4.3.5", EditionEnterprise),
	MustRelease("3.10.0.2", EditionEnterprise),
	// The LTS after 3.10 (kong-reference 5.4, 6.2: 3.10 → 3.14); 3.14.0.0
	// is its first release (March 2026).
	MustRelease("3.14.0.0", EditionEnterprise),
}

// ParseRelease checks a version (3 parts for OSS, 4 for Enterprise) and
// edition.
func ParseRelease(version, edition string) (Release, error) {
	if edition == "" {
		edition = EditionOSS
	}
	if edition != EditionOSS && edition != EditionEnterprise {
		return Release{}, fmt.Errorf("kongsim: unknown edition %q (want %s or %s)", edition, EditionOSS, EditionEnterprise)
	}
	parts := strings.Split(version, ".")
	want := 3
	if edition == EditionEnterprise {
		want = 4
	}
	if len(parts) != want {
		return Release{}, fmt.Errorf("kongsim: %s version %q must have %d parts", edition, version, want)
	}
	n := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Release{}, fmt.Errorf("kongsim: bad version %q", version)
		}
		n[i] = v
	}
	return Release{Version: version, Edition: edition, Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// MustRelease is ParseRelease for constants.
func MustRelease(version, edition string) Release {
	r, err := ParseRelease(version, edition)
	if err != nil {
		panic(err)
	}
	return r
}

// EE tells whether this is Kong Enterprise.
func (r Release) EE() bool { return r.Edition == EditionEnterprise }

// PackageName is the distribution package: kong or kong-enterprise-edition.
func (r Release) PackageName() string {
	if r.EE() {
		return "kong-enterprise-edition"
	}
	return "kong"
}

// ServiceName is the systemd unit file name.
func (r Release) ServiceName() string { return r.PackageName() + ".service" }

// MetaVersion is meta._VERSION as Kong logs it: 3.4.2, or
// 3.4.3.5-enterprise-edition.
func (r Release) MetaVersion() string {
	if r.EE() {
		return r.Version + "-enterprise-edition"
	}
	return r.Version
}

// AtLeast compares major.minor.
func (r Release) AtLeast(major, minor int) bool {
	return r.Major > major || (r.Major == major && r.Minor >= minor)
}

// String is what `kong version` prints.
func (r Release) String() string {
	if r.EE() {
		return "Kong Enterprise " + r.Version
	}
	return r.Version
}

// LDFlags are the -ldflags that bake this release into lab/cmd/kong.
func (r Release) LDFlags() string {
	return fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.edition=%s", r.Version, r.Edition)
}

// CompatibleDP tells whether a data plane of version dp may take
// configuration from a control plane of this release (reference 6.9: same
// major, DP minor <= CP minor, patch ignored).
func (r Release) CompatibleDP(dp string) bool {
	parts := strings.Split(strings.TrimSuffix(dp, "-enterprise-edition"), ".")
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return maj == r.Major && min <= r.Minor
}
