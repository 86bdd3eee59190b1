package upgradepath

import (
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/kongver"
)

// Edition is "oss" or "enterprise".
const (
	EditionOSS        = "oss"
	EditionEnterprise = "enterprise"
)

// Kind says why a hop is supported.
type Kind string

const (
	KindPatch Kind = "patch" // same major.minor
	KindMinor Kind = "minor" // adjacent minor of the same major
	KindLTS   Kind = "lts"   // a documented LTS-to-LTS pair
)

// Hop is one supported step of an upgrade chain, between two series.
type Hop struct {
	From, To string // "3.4", "3.5"
	Kind     Kind
}

func (h Hop) String() string {
	if h.Kind == KindLTS {
		return h.From + "→" + h.To + " (LTS)"
	}
	return h.From + "→" + h.To
}

// ltsPairs are the adjacent LTS pairs Kong tests (kong-reference 6.2).
var ltsPairs = [][2]string{{"2.8", "3.4"}, {"3.4", "3.10"}, {"3.10", "3.14"}}

// lastMinor is the last known minor of each major; used to build chains.
var lastMinor = map[int]int{1: 5, 2: 8, 3: 14}

// LastOSS is the last series shipped as open source (OSS stopped after 3.9).
const LastOSS = "3.9"

// Decision is the policy's answer for one X→Y upgrade.
type Decision struct {
	From, To kongver.Version
	Allowed  bool
	Kind     Kind   // why it is allowed
	Reason   string // why it is refused, or a one-line description
	// Chain is the shortest sequence of supported hops from X to Y when the
	// direct jump is refused (empty when none is known).
	Chain []Hop
	// MultiHop is set when Y is more than one supported jump away and
	// Chain holds the hops: kongctl runs them in one window (the direct
	// jump itself stays refused: Allowed is false).
	MultiHop bool
	// EditionSwitch is set when the target needs a different edition than
	// the source (OSS → Enterprise for 3.10+).
	EditionSwitch bool
	// Notes are things the operator must know even when allowed.
	Notes []string
}

// ChainString renders the chain as "2.8→3.4 (LTS), then 3.4→3.5, 3.5→3.6".
func (d Decision) ChainString() string {
	if len(d.Chain) == 0 {
		return ""
	}
	parts := make([]string, len(d.Chain))
	for i, h := range d.Chain {
		parts[i] = h.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return parts[0] + ", then " + strings.Join(parts[1:], ", ")
}

// Check applies the upgrade-path policy of kong-reference 6.2:
// patch within a minor, adjacent minor of the same major, and the LTS
// pairs 2.8→3.4, 3.4→3.10, 3.10→3.14. Enterprise four-part versions compare
// on their first three parts. fromEdition/toEdition are "oss" or
// "enterprise"; OSS stopped after 3.9, so OSS→3.10+ is reported as an
// edition switch (and refused if toEdition is still "oss").
func Check(from, to kongver.Version, fromEdition, toEdition string) Decision {
	d := Decision{From: from, To: to}
	if fromEdition == "" {
		fromEdition = EditionOSS
	}
	if toEdition == "" {
		toEdition = fromEdition
	}
	switch c := from.Core().Compare(to.Core()); {
	case c > 0:
		d.Reason = fmt.Sprintf("%s → %s is a downgrade; an in-place downgrade is not supported (use kongctl rollback from the run's backup); the nearest valid target is a %s.x patch release at or above %s", from, to, from.Series(), from)
		return d
	case c == 0 && from.Compare(to) >= 0 && fromEdition == toEdition:
		d.Reason = fmt.Sprintf("already at %s: nothing to upgrade", to)
		return d
	}
	ossTooNew := to.AtLeast(3, 10)
	if toEdition == EditionOSS && ossTooNew {
		d.Reason = fmt.Sprintf("Kong OSS stopped after %s: no OSS package of %s exists; set upgrade.edition = \"enterprise\" to switch edition", LastOSS, to)
		d.EditionSwitch = true
		d.Chain = chain(from, to)
		return d
	}
	if fromEdition != toEdition {
		d.EditionSwitch = true
		if fromEdition == EditionOSS && toEdition == EditionEnterprise {
			d.Notes = append(d.Notes, "edition switch OSS → Enterprise: the package becomes kong-enterprise-edition (systemd unit kong-enterprise-edition.service) and a license must be applied")
		} else {
			d.Reason = fmt.Sprintf("edition switch %s → %s is not supported in place", fromEdition, toEdition)
			return d
		}
	}
	if k, ok := direct(from, to); ok {
		d.Allowed, d.Kind = true, k
		d.Reason = fmt.Sprintf("%s → %s: supported %s upgrade", from, to, k)
		if k == KindLTS {
			d.Notes = append(d.Notes, "LTS-to-LTS upgrade: read the LTS upgrade guide and its breaking changes; this migration pattern is only valid between these two LTS versions")
		}
		if from.Major != to.Major {
			d.Notes = append(d.Notes, fmt.Sprintf("major upgrade %d.x → %d.x: Prometheus metric names and dashboards change", from.Major, to.Major))
		}
		return d
	}
	if !Known(to) {
		d.Reason = fmt.Sprintf("%s → %s: Kong never shipped a %s series; the nearest valid target is %s", from, to, to.Series(), NearestTarget(to))
		return d
	}
	d.Chain = chain(from, to)
	if len(d.Chain) == 0 {
		d.Reason = fmt.Sprintf("%s → %s is not a supported upgrade path and no chain of supported hops is known (3.x migrates from 2.1.x at the lowest)", from, to)
		return d
	}
	d.MultiHop = true
	d.Reason = fmt.Sprintf("%s → %s is not a supported single upgrade (only patch, adjacent minor, or LTS pairs 2.8→3.4, 3.4→3.10, 3.10→3.14): %d hops in one window: %s", from, to, len(d.Chain), d.ChainString())
	return d
}

// Known reports whether v's series is one Kong shipped (1.0-1.5, 2.0-2.8,
// 3.0-3.14 as of kong-reference 6.2).
func Known(v kongver.Version) bool {
	last, ok := lastMinor[v.Major]
	return ok && v.Minor <= last
}

// NearestTarget is the newest series Kong shipped at or below v ("3.14"
// for 3.20.0 or 4.0.0), "" when none is (below 1.0).
func NearestTarget(v kongver.Version) string {
	for major := v.Major; major >= 1; major-- {
		last, ok := lastMinor[major]
		if !ok {
			continue
		}
		if major == v.Major {
			last = min(last, v.Minor)
		}
		return series{major, last}.String()
	}
	return ""
}

// HopMigrations says, for a hop of a chain, what its migrations do
// (kong-reference 9.4); "" when the reference says nothing of it.
func HopMigrations(h Hop) string {
	return hopMigrations[h.From+"→"+h.To]
}

var hopMigrations = map[string]string{
	"2.8→3.4":   "core 016_280_to_300 (rewrites routes.paths during up; teardown drops vaults_beta, dedups targets), http-log, pre-/post-function 001_280_to_300 (plugin config rewrites, teardowns), core 017-020 and plugin DDL; 4 teardowns left for finish",
	"3.4→3.10":  "core 021-025 (DDL only), rate-limiting 006_350_to_360 and response-ratelimiting 001_350_to_360 (plugins.config redis rewrite, teardowns), acme 003_350_to_360, opentelemetry 001_331_to_332, ai-proxy 001_360_to_370, session 003_330_to_3100; Enterprise: enterprise 018-021 (audit_objects on every row, rbac_role_endpoints), *-advanced 001/002_370_to_380",
	"3.10→3.14": "the 3.10→3.14 LTS migrations (lts-upgrade-310-314.md); the reference lists no data rewrites for them",
}

// direct reports whether X→Y is one supported hop.
func direct(from, to kongver.Version) (Kind, bool) {
	if from.Major == to.Major && from.Minor == to.Minor {
		return KindPatch, true
	}
	if from.Major == to.Major && to.Minor == from.Minor+1 {
		return KindMinor, true
	}
	for _, p := range ltsPairs {
		if from.Series() == p[0] && to.Series() == p[1] {
			return KindLTS, true
		}
	}
	return "", false
}

type series struct{ major, minor int }

func (s series) String() string { return fmt.Sprintf("%d.%d", s.major, s.minor) }

// chain finds the shortest sequence of supported hops (breadth first over
// the known series, plus from's and to's own).
func chain(from, to kongver.Version) []Hop {
	start := series{from.Major, from.Minor}
	goal := series{to.Major, to.Minor}
	nodes := map[series]bool{start: true, goal: true}
	for major, last := range lastMinor {
		for m := 0; m <= last; m++ {
			nodes[series{major, m}] = true
		}
	}
	next := func(s series) []Hop {
		var out []Hop
		if n := (series{s.major, s.minor + 1}); nodes[n] {
			out = append(out, Hop{From: s.String(), To: n.String(), Kind: KindMinor})
		}
		for _, p := range ltsPairs {
			if p[0] == s.String() {
				out = append(out, Hop{From: p[0], To: p[1], Kind: KindLTS})
			}
		}
		return out
	}
	type item struct {
		s    series
		path []Hop
	}
	seen := map[series]bool{start: true}
	queue := []item{{s: start}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if it.s == goal {
			return it.path
		}
		// Prefer LTS hops first so equal-length chains go via LTS.
		hops := next(it.s)
		for i := len(hops) - 1; i >= 0; i-- {
			h := hops[i]
			var n series
			fmt.Sscanf(h.To, "%d.%d", &n.major, &n.minor)
			if seen[n] || n.major > goal.major || (n.major == goal.major && n.minor > goal.minor) {
				continue
			}
			seen[n] = true
			path := append(append([]Hop(nil), it.path...), h)
			queue = append(queue, item{s: n, path: path})
		}
	}
	return nil
}
