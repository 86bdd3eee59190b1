package runner

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/upgradepath"
)

// checkConfWithY runs Y's own checks on every in-place node whose Y
// package is staged, before any stop: what Y's `kong check` refuses, and
// what its `kong prepare` (nginx's configuration test included) fails
// on, is an error naming the property, file and line when the message
// names one. preflight.accept does not apply: Y cannot start with it.
func (e *engine) checkConfWithY(ctx context.Context, pf *preflightData) {
	if e.spec.NewHosts {
		return // the spares get their kong.conf later (new-hosts mode)
	}
	var mu sync.Mutex
	_ = e.forEach(ctx, e.spec.Nodes, nodeLimit, func(ctx context.Context, h string) error {
		mu.Lock()
		y, f := pf.PkgY[h], pf.Facts[h]
		mu.Unlock()
		if y.Version == "" {
			return nil
		}
		n, err := e.node(ctx, h)
		if err != nil {
			return nil // reported by the facts step
		}
		cc, ok := n.(fleet.YConfChecker)
		if !ok {
			return nil
		}
		r, err := cc.CheckConfWithY(ctx, y)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "kong-conf-check-y", Host: h, Message: e.red.err(err),
				Fix: "make sure the node can unpack the staged package (dpkg-deb, or rpm2cpio and cpio) in the agent's state dir"})
			return nil
		}
		for _, fd := range yConfFindings(h, y.Version, f, r) {
			fd.Message, fd.Fix = e.red.redact(fd.Message), e.red.redact(fd.Fix)
			e.find(fd)
		}
		return nil
	})
}

var (
	reKongLogPrefix     = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] `)
	reInvalidValue      = regexp.MustCompile(`^([a-z][a-z0-9_]*) (?:has an invalid value|is not a valid|must be)`)
	reUnknownDirective  = regexp.MustCompile(`unknown directive "([^"]+)"`)
	rePrepareErrorBlock = regexp.MustCompile(`(?s)Error: (.*?)(?:\n\s*Run with --v|$)`)
)

// lineWith is the line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return sub
}

// yConfFindings turns Y's answers into findings. A check failure is
// reported once (prepare loads the same configuration and fails the same
// way); prepare is reported on its own when check passed.
func yConfFindings(host, yVersion string, f fleet.Facts, r fleet.YConfCheck) []Finding {
	file := r.Conf
	if f.ConfFile != "" {
		file = f.ConfFile
	}
	where := func(key string) string {
		for _, e := range f.ConfEntries {
			if e.Key == key {
				return fmt.Sprintf("%s:%d", file, e.Line)
			}
		}
		return file
	}
	var out []Finding
	if r.CheckExit != 0 {
		for _, line := range strings.Split(r.CheckStderr, "\n") {
			msg := strings.TrimSpace(reKongLogPrefix.ReplaceAllString(strings.TrimSpace(line), ""))
			if msg == "" {
				continue
			}
			fd := Finding{Severity: SevError, Code: "kong-conf-rejected-by-y", Host: host}
			if m := reInvalidValue.FindStringSubmatch(msg); m != nil {
				fd.Message = fmt.Sprintf("%s: Kong %s's `kong check` refuses %s: %s", where(m[1]), yVersion, m[1], msg)
				fd.Fix = fmt.Sprintf("set %s to a value Kong %s accepts before the upgrade", m[1], yVersion)
			} else {
				fd.Message = fmt.Sprintf("%s: Kong %s's `kong check` refuses the configuration: %s", file, yVersion, msg)
				fd.Fix = fmt.Sprintf("fix kong.conf so that Kong %s's `kong check` passes", yVersion)
			}
			out = append(out, fd)
		}
		return out
	}
	if r.PrepareExit == 0 {
		return nil
	}
	msg := strings.TrimSpace(r.PrepareStderr)
	if m := rePrepareErrorBlock.FindStringSubmatch(msg); m != nil {
		msg = strings.TrimSpace(m[1])
	}
	fd := Finding{Severity: SevError, Code: "kong-conf-rejected-by-y", Host: host}
	if m := reUnknownDirective.FindStringSubmatch(msg); m != nil {
		var keys []string
		for _, e := range f.ConfEntries {
			if (upgradepath.ConfRule{Kind: upgradepath.ConfNginx, Directive: m[1]}).Matches(upgradepath.ConfEntry{Key: e.Key}) {
				keys = append(keys, e.Key)
			}
		}
		if len(keys) > 0 {
			fd.Message = fmt.Sprintf("%s: %s injects the nginx directive %q, which Kong %s's nginx does not know: `kong prepare` fails at nginx's configuration test (%s), so Y would not start", where(keys[0]), keys[0], m[1], yVersion, lineWith(msg, m[0]))
			fd.Fix = fmt.Sprintf("remove %s from kong.conf (or replace the directive by what Kong %s's nginx offers)", keys[0], yVersion)
			return []Finding{fd}
		}
	}
	fd.Message = fmt.Sprintf("%s: Kong %s's `kong prepare` fails on this configuration, so Y would not start: %s", file, yVersion, strings.ReplaceAll(msg, "\n", " | "))
	fd.Fix = fmt.Sprintf("fix kong.conf so that Kong %s's `kong prepare` passes", yVersion)
	return []Finding{fd}
}
