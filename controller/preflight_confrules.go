package controller

import (
	"fmt"
	"slices"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/kongver"
)

// Finding codes of the kong.conf property rules (upgradepath.ConfRules),
// one per kind.
var confRuleCodes = map[upgradepath.ConfKind]string{
	upgradepath.ConfRemoved: "kong-conf-removed",
	upgradepath.ConfRenamed: "kong-conf-renamed",
	upgradepath.ConfInvalid: "kong-conf-invalid",
	upgradepath.ConfNginx:   "kong-conf-nginx-directive",
}

// checkConfRules applies kongctl's table of kong.conf properties removed
// or renamed between X and Y to every node's kong.conf as its agent read
// it, before anything stops. Each offending property is named with its
// file and line; a renamed property Y still applies is a warning, every
// other kind stops the upgrade. A removed or renamed property the
// inventory acknowledges (preflight { accept = [...] }) is reported as
// info; a value or nginx directive Y refuses cannot be accepted: Y would
// not start.
func (e *engine) checkConfRules(pf *preflightData) {
	from, err := kongver.ParseReported(pf.From)
	to := e.toVersion()
	if err != nil {
		return
	}
	for _, h := range e.spec.Nodes {
		f, ok := pf.Facts[h]
		if !ok {
			continue
		}
		for _, cf := range upgradepath.CheckConfEntries(f.ConfEntries, from, to, e.spec.Edition) {
			e.find(confRuleFinding(h, f.ConfFile, to, cf, slices.Contains(e.spec.AcceptConf, cf.Entry.Key)))
		}
	}
}

// confRuleFinding is the finding for one matched entry.
func confRuleFinding(host, file string, to kongver.Version, cf upgradepath.ConfFinding, accepted bool) Finding {
	fd := Finding{Severity: SevError, Code: confRuleCodes[cf.Rule.Kind], Host: host,
		Message: fmt.Sprintf("%s:%d: %s", file, cf.Entry.Line, cf.Message(to)), Fix: cf.Fix()}
	acceptable := cf.Rule.Kind == upgradepath.ConfRemoved || cf.Rule.Kind == upgradepath.ConfRenamed
	switch {
	case accepted && acceptable:
		fd.Severity, fd.Fix = SevInfo, ""
		fd.Message += " (accepted by preflight.accept)"
	case cf.Rule.Kind == upgradepath.ConfRenamed:
		fd.Severity = SevWarning
	case accepted:
		fd.Message += " (listed in preflight.accept, which cannot help: Kong " + to.String() + " would not start with it)"
	}
	return fd
}

// confEntries converts the agent's kong.conf entries.
func confEntries(in []agentproto.ConfEntry) []upgradepath.ConfEntry {
	out := make([]upgradepath.ConfEntry, 0, len(in))
	for _, e := range in {
		out = append(out, upgradepath.ConfEntry{Key: e.Key, Value: e.Value, Line: e.Line})
	}
	return out
}
