package kongsim

import (
	"sort"
	"strings"
)

// Migration is one step of a subsystem's migration list.
type Migration struct {
	Name        string
	HasTeardown bool
	// Up and Teardown are SQL run in one transaction each (empty: a no-op
	// statement). Kong's teardown runs at `finish` (or at once on bootstrap).
	Up       string
	Teardown string
}

// Subsystem is `core`, `enterprise` or a plugin, with its migrations in code
// order.
type Subsystem struct {
	Name       string
	Namespace  string
	Migrations []Migration
}

type migDef struct {
	name     string
	since    [2]int // first major.minor that ships it
	teardown bool
}

func m(name string) migDef                { return migDef{name: name} }
func mt(name string) migDef               { return migDef{name: name, teardown: true} }
func ms(name string, maj, min int) migDef { return migDef{name: name, since: [2]int{maj, min}} }
func mst(name string, maj, min int) migDef {
	return migDef{name: name, since: [2]int{maj, min}, teardown: true}
}

// coreDefs follows reference 1.4: the 2.8 list, 016 in 3.0, 017-020 by 3.4,
// 021-024 by 3.9, 025 in 3.10.
var coreDefs = []migDef{
	m("000_base"), m("003_100_to_110"), m("004_110_to_120"), mt("005_120_to_130"),
	m("006_130_to_140"), m("007_140_to_150"), mt("008_150_to_200"), mt("009_200_to_210"),
	m("010_210_to_211"), m("011_212_to_213"), mt("012_213_to_220"), m("013_220_to_230"),
	m("014_230_to_270"), m("015_270_to_280"),
	mst("016_280_to_300", 3, 0),
	ms("017_300_to_310", 3, 1), ms("018_310_to_320", 3, 2), ms("019_320_to_330", 3, 3), ms("020_330_to_340", 3, 4),
	ms("021_340_to_350", 3, 5), ms("022_350_to_360", 3, 6), ms("023_360_to_370", 3, 7), ms("024_380_to_390", 3, 9),
	ms("025_390_to_3100", 3, 10),
}

// pluginDefs are the bundled plugins that have migrations. Diffing 2.8 and
// 3.4 gives the worked example of reference 1.4 as corrected by 9.4 (15
// processed, 4 pending: pre- and post-function have a teardown too).
var pluginDefs = map[string][]migDef{
	"acl":                   {m("000_base_acl"), m("002_130_to_140"), mt("003_200_to_210"), mt("004_212_to_213")},
	"acme":                  {m("000_base_acme"), ms("001_280_to_300", 3, 0), ms("002_320_to_330", 3, 2), mst("003_350_to_360", 3, 6)},
	"ai-proxy":              {mst("001_360_to_370", 3, 7)},
	"basic-auth":            {m("000_base_basic_auth"), m("002_130_to_140"), m("003_200_to_210")},
	"bot-detection":         {mt("001_200_to_210")},
	"hmac-auth":             {m("000_base_hmac_auth"), m("002_130_to_140"), m("003_200_to_210")},
	"http-log":              {mst("001_280_to_300", 3, 0)},
	"ip-restriction":        {mt("001_200_to_210")},
	"jwt":                   {m("000_base_jwt"), m("002_130_to_140"), m("003_200_to_210")},
	"key-auth":              {m("000_base_key_auth"), m("002_130_to_140"), m("003_200_to_210"), ms("004_320_to_330", 3, 2)},
	"oauth2":                {m("000_base_oauth2"), m("003_130_to_140"), mt("004_200_to_210"), m("005_210_to_211"), ms("006_320_to_330", 3, 2), ms("007_320_to_330", 3, 2)},
	"opentelemetry":         {mst("001_331_to_332", 3, 6)}, // from 3.6.1 (a backport; not in 3.6.0), 3.7.0
	"post-function":         {mst("001_280_to_300", 3, 0)},
	"pre-function":          {mst("001_280_to_300", 3, 0)},
	"rate-limiting":         {m("000_base_rate_limiting"), m("003_10_to_112"), m("004_200_to_210"), ms("005_320_to_330", 3, 2), mst("006_350_to_360", 3, 6)},
	"response-ratelimiting": {m("000_base_response_rate_limiting"), mst("001_350_to_360", 3, 6)},
	"session":               {m("000_base_session"), m("001_add_ttl_index"), ms("002_320_to_330", 3, 2)},
}

// enterpriseDefs is the EE `enterprise` subsystem (names modelled on EE's).
var enterpriseDefs = []migDef{
	m("006_1301_to_1500"), m("007_1500_to_1504"), m("008_1504_to_1505"), m("009_1506_to_1507"),
	mt("010_1500_to_2100"), m("011_2100_to_2200"), m("012_2200_to_2300"), m("013_2300_to_2400"),
	m("014_2400_to_2500"), m("015_2500_to_2600"), m("016_2600_to_2700"), m("017_2700_to_2800"),
	mst("018_2800_to_3000", 3, 0), ms("019_3100_to_3200", 3, 2), ms("020_3300_to_3400", 3, 4),
	ms("021_3400_to_3500", 3, 5), mst("022_3500_to_3600", 3, 6), ms("023_3600_to_3700", 3, 7),
	ms("024_3700_to_3800", 3, 8), ms("025_3800_to_3900", 3, 9), mst("026_3900_to_31000", 3, 10),
	// 3.11-3.14: Enterprise only (OSS stopped after 3.9, and Kong/kong's
	// public core list ends at 025_390_to_3100), so a 3.10 → 3.14 LTS
	// upgrade runs the four minors' Enterprise migrations in one `up`; the
	// last has a teardown, so `up` leaves it pending for `finish` (the
	// two-phase model of kong-reference 6.7). Names modelled on EE's.
	ms("027_31000_to_31100", 3, 11), ms("028_31100_to_31200", 3, 12),
	ms("029_31200_to_31300", 3, 13), mst("030_31300_to_31400", 3, 14),
}

// eePluginDefs are Enterprise-only plugins with migrations.
var eePluginDefs = map[string][]migDef{
	"openid-connect": {m("000_base_openid_connect"), m("001_14500_to_2000"), m("002_200_to_210"), ms("003_280_to_300", 3, 0), ms("004_370_to_380", 3, 8)},
	"saml":           {ms("001_370_to_380", 3, 8)},
}

// pluginsWithout are bundled plugins with no migrations (they matter for
// the admin API's plugin names only).
var pluginsWithout = []string{
	"aws-lambda", "azure-functions", "correlation-id", "cors", "datadog", "file-log",
	"grpc-gateway", "grpc-web", "ip-restriction", "ldap-auth", "loggly", "prometheus",
	"proxy-cache", "request-size-limiting", "request-termination", "request-transformer",
	"response-transformer", "statsd", "syslog", "tcp-log", "udp-log", "zipkin",
}

func (r Release) has(d migDef) bool { return r.AtLeast(d.since[0], d.since[1]) }

// BundledPlugins is the `bundled` plugin set of a release, sorted.
func (r Release) BundledPlugins() []string {
	set := map[string]bool{}
	for _, p := range pluginsWithout {
		set[p] = true
	}
	if r.AtLeast(3, 0) {
		set["opentelemetry"] = true
	}
	add := func(defs map[string][]migDef) {
		for name, ms := range defs {
			for _, d := range ms {
				if r.has(d) {
					set[name] = true
				}
			}
		}
	}
	add(pluginDefs)
	if r.EE() {
		add(eePluginDefs)
		set["rate-limiting-advanced"] = true
		set["request-validator"] = true
	}
	// pre/post-function exist in 2.8 too; only their migrations are 3.0+.
	set["pre-function"] = true
	set["post-function"] = true
	set["http-log"] = true
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// LoadedPlugins resolves the `plugins` setting (bundled, off, names).
func (r Release) LoadedPlugins(setting string) []string {
	set := map[string]bool{}
	for _, p := range strings.Split(setting, ",") {
		p = strings.TrimSpace(p)
		switch p {
		case "", "off":
		case "bundled":
			for _, b := range r.BundledPlugins() {
				set[b] = true
			}
		default:
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Catalogue is the ordered subsystem list of a release for a `plugins`
// setting: core, enterprise (EE), then loaded plugins with migrations
// sorted by name.
func (r Release) Catalogue(pluginsSetting string) []Subsystem {
	out := []Subsystem{r.subsystem("core", "kong.db.migrations.core", coreDefs)}
	if r.EE() {
		out = append(out, r.subsystem("enterprise", "kong.enterprise_edition.db.migrations.enterprise", enterpriseDefs))
	}
	for _, p := range r.LoadedPlugins(pluginsSetting) {
		defs, ok := pluginDefs[p]
		if !ok && r.EE() {
			defs, ok = eePluginDefs[p]
		}
		if !ok {
			continue
		}
		ss := r.subsystem(p, "kong.plugins."+p+".migrations", defs)
		if len(ss.Migrations) > 0 {
			out = append(out, ss)
		}
	}
	return out
}

func (r Release) subsystem(name, ns string, defs []migDef) Subsystem {
	ss := Subsystem{Name: name, Namespace: ns}
	for _, d := range defs {
		if !r.has(d) {
			continue
		}
		mig := Migration{Name: d.name, HasTeardown: d.teardown}
		if s, ok := migrationSQL[name+"/"+d.name]; ok {
			mig.Up, mig.Teardown = s.up, s.teardown
		}
		ss.Migrations = append(ss.Migrations, mig)
	}
	return ss
}
