package kongsim

import (
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// legacyPlainPath is Kong 2.x's test for a plain (non-regex) path.
var legacyPlainPath = regexp.MustCompile(`^[a-zA-Z0-9._~/%-]*$`)

type compiledPath struct {
	raw    string
	prefix string         // plain path
	re     *regexp.Regexp // regex path (anchored at the start)
}

type compiledRoute struct {
	route   Route
	service *Service
	paths   []compiledPath
	plugins []Plugin
	nCats   int
}

// Router matches requests to routes by methods, hosts and paths: 3.x regex
// paths start with `~`; in 2.x any path with regex characters is a regex.
type Router struct {
	routes []compiledRoute
	global []Plugin
}

// Match is a routing decision.
type Match struct {
	Route     *Route
	Service   *Service
	Plugins   []Plugin // enabled plugins: route, service, then global
	Stripped  string   // the request path minus the matched prefix
	MatchedRe bool
}

// NewRouter compiles a configuration for a release.
func NewRouter(rel Release, k *KongConfig) *Router {
	svcs := map[string]*Service{}
	for i := range k.Services {
		svcs[k.Services[i].ID] = &k.Services[i]
	}
	rt := &Router{}
	for _, p := range k.Plugins {
		if p.Enabled && p.Route == nil && p.Service == nil && p.Consumer == nil {
			rt.global = append(rt.global, p)
		}
	}
	for _, r := range k.Routes {
		cr := compiledRoute{route: r}
		if r.Service != nil {
			cr.service = svcs[r.Service.ID]
		}
		for _, p := range r.Paths {
			cp := compiledPath{raw: p}
			pattern, isRe := "", false
			if rel.AtLeast(3, 0) {
				if strings.HasPrefix(p, "~") {
					pattern, isRe = p[1:], true
				}
			} else if !legacyPlainPath.MatchString(p) {
				pattern, isRe = p, true
			}
			if isRe {
				re, err := regexp.Compile("^(?:" + pattern + ")")
				if err != nil {
					continue
				}
				cp.re = re
			} else {
				cp.prefix = p
			}
			cr.paths = append(cr.paths, cp)
		}
		for _, p := range k.Plugins {
			if !p.Enabled || p.Consumer != nil {
				continue
			}
			if p.Route != nil && p.Route.ID == r.ID {
				cr.plugins = append(cr.plugins, p)
			}
		}
		for _, p := range k.Plugins {
			if p.Enabled && p.Route == nil && p.Consumer == nil && p.Service != nil && r.Service != nil && p.Service.ID == r.Service.ID {
				cr.plugins = append(cr.plugins, p)
			}
		}
		for _, n := range []int{len(r.Methods), len(r.Hosts), len(r.Paths)} {
			if n > 0 {
				cr.nCats++
			}
		}
		rt.routes = append(rt.routes, cr)
	}
	return rt
}

type candidate struct {
	cr       *compiledRoute
	isRe     bool
	matchLen int
	stripped string
}

// Route finds the best route for a request.
func (rt *Router) Route(req *http.Request) (*Match, bool) {
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := req.URL.Path
	var cands []candidate
	for i := range rt.routes {
		cr := &rt.routes[i]
		r := cr.route
		if len(r.Methods) > 0 && !containsFold(r.Methods, req.Method) {
			continue
		}
		if len(r.Hosts) > 0 && !hostMatch(r.Hosts, host) {
			continue
		}
		c := candidate{cr: cr, stripped: path}
		if len(cr.paths) > 0 {
			ok := false
			for _, p := range cr.paths {
				if p.re != nil {
					if loc := p.re.FindStringIndex(path); loc != nil {
						if !ok || !c.isRe || loc[1] > c.matchLen {
							c.isRe, c.matchLen, c.stripped, ok = true, loc[1], path[loc[1]:], true
						}
					}
				} else if strings.HasPrefix(path, p.prefix) && (!ok || (!c.isRe && len(p.prefix) > c.matchLen)) {
					c.matchLen, c.stripped, ok = len(p.prefix), path[len(p.prefix):], true
				}
			}
			if !ok {
				continue
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return nil, false
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.cr.nCats != b.cr.nCats {
			return a.cr.nCats > b.cr.nCats
		}
		if a.isRe != b.isRe {
			return a.isRe
		}
		if a.isRe && a.cr.route.RegexPriority != b.cr.route.RegexPriority {
			return a.cr.route.RegexPriority > b.cr.route.RegexPriority
		}
		return a.matchLen > b.matchLen
	})
	best := cands[0]
	m := &Match{Route: &best.cr.route, Service: best.cr.service, Stripped: best.stripped, MatchedRe: best.isRe}
	m.Plugins = append(append(m.Plugins, best.cr.plugins...), rt.global...)
	return m, true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func hostMatch(hosts []string, host string) bool {
	host = strings.ToLower(host)
	for _, h := range hosts {
		h = strings.ToLower(h)
		switch {
		case h == host:
			return true
		case strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]):
			return true
		case strings.HasSuffix(h, ".*") && strings.HasPrefix(host, h[:len(h)-1]):
			return true
		}
	}
	return false
}

// upstreamPath joins the service path and the request path (path_handling
// v0), stripping the matched prefix when strip_path is set.
func upstreamPath(m *Match, reqPath string) string {
	rest := reqPath
	if m.Route.StripPath && len(m.Route.Paths) > 0 {
		rest = m.Stripped
	}
	base := ""
	if m.Service != nil && m.Service.Path != nil {
		base = *m.Service.Path
	}
	switch {
	case base == "":
		if rest == "" || rest[0] != '/' {
			rest = "/" + rest
		}
		return rest
	case rest == "":
		return base
	case strings.HasSuffix(base, "/") && strings.HasPrefix(rest, "/"):
		return base + rest[1:]
	case !strings.HasSuffix(base, "/") && !strings.HasPrefix(rest, "/"):
		return base + "/" + rest
	}
	return base + rest
}
