package inventory

import (
	"fmt"
	"strings"
)

// Select returns the hosts chosen by a --limit expression, in inventory
// order: a comma-separated list of host names, group names, "tag:NAME" and
// "role:NAME". An empty limit selects every host. A term that matches
// nothing is an error, so a typo never silently shrinks the selection.
func (inv *Inventory) Select(limit string) ([]*Host, error) {
	if strings.TrimSpace(limit) == "" {
		return append([]*Host(nil), inv.Hosts...), nil
	}
	chosen := map[*Host]bool{}
	for _, term := range strings.Split(limit, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		hs, err := inv.selectTerm(term)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			chosen[h] = true
		}
	}
	var out []*Host
	for _, h := range inv.Hosts {
		if chosen[h] {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("limit %q selects no hosts", limit)
	}
	return out, nil
}

func (inv *Inventory) selectTerm(term string) ([]*Host, error) {
	if tag, ok := strings.CutPrefix(term, "tag:"); ok {
		var out, all []*Host
		var tags []string
		for _, h := range inv.Hosts {
			if h.HasTag(tag) {
				out = append(out, h)
			}
			all = append(all, h)
			tags = append(tags, h.Tags...)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("limit %q: no host has tag %q%s", term, tag, suggestSuffix(tag, tags))
		}
		return out, nil
	}
	if role, ok := strings.CutPrefix(term, "role:"); ok {
		out := inv.HostsWithRole(Role(role))
		if len(out) == 0 {
			return nil, fmt.Errorf("limit %q: no host has role %q%s", term, role, suggestSuffix(role, roleNames()))
		}
		return out, nil
	}
	if hs := inv.Expand(term); hs != nil {
		return hs, nil
	}
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name)
	}
	for _, g := range inv.Groups {
		names = append(names, g.Name)
	}
	return nil, fmt.Errorf("limit %q: no host or group of that name (use tag:NAME for tags)%s", term, suggestSuffix(term, names))
}

func suggestSuffix(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
