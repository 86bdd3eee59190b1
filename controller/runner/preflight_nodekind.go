package runner

import (
	"fmt"
	"net"
	"strings"
)

// checkNodeKinds refuses, before any stop, the nodes kongctl cannot
// upgrade in place or cannot observe: DB-less nodes and Konnect-managed
// data planes (kong-reference 9.6: only rolling replacement is
// documented for them), and nodes whose Admin API refuses kongctl's
// token (Enterprise RBAC, 9.1: Y would never read healthy).
func (e *engine) checkNodeKinds(pf *preflightData) {
	for _, h := range append(append([]string(nil), e.spec.Nodes...), e.spec.DataPlanes...) {
		f, ok := pf.Facts[h]
		if !ok || f.Version == "" {
			continue
		}
		if cp, konnect := konnectManaged(f.Conf); konnect {
			e.find(Finding{Severity: SevError, Code: "konnect", Host: h,
				Message: "the node is a Konnect data plane (" + cp + "): Konnect upgrades Kong-managed data planes itself, and self-managed ones are replaced, not upgraded in place",
				Fix:     "start new data planes on the target version and retire this one (Konnect's documented path), and remove it from the inventory"})
			continue
		}
		if f.Conf["database"] == "off" && f.Role != "data_plane" {
			e.find(Finding{Severity: SevError, Code: "db-less", Host: h,
				Message: "the node is DB-less (database = off): it has no database to migrate, and Kong documents only a rolling replacement for it",
				Fix:     "add nodes on the target version with the same declarative configuration, shift traffic, retire this one; remove it from the inventory"})
			continue
		}
		switch f.AdminAPI {
		case 401, 403:
			msg := fmt.Sprintf("the Admin API refused kongctl's admin token (HTTP %d): kongctl reads the version, /metrics and the data planes through it", f.AdminAPI)
			if e.spec.AdminToken == nil {
				msg = fmt.Sprintf("the Admin API requires an RBAC token (HTTP %d, enforce_rbac = %s) and the inventory names none", f.AdminAPI, orDefault(f.Conf["enforce_rbac"], "?"))
			}
			e.find(Finding{Severity: SevError, Code: "admin-token", Host: h, Message: msg,
				Fix: "set kong { admin_token_file = \"...\" } (or admin_token_env) to the token of an RBAC user allowed to read the Admin API, such as the super admin kong_admin"})
		}
	}
}

// konnectManaged reports whether a node's configuration makes it a
// Konnect data plane: konnect_mode = on, or a cluster_control_plane under
// konghq.com (kong-reference 9.6); cp names what told.
func konnectManaged(conf map[string]string) (cp string, ok bool) {
	if strings.EqualFold(strings.TrimSpace(conf["konnect_mode"]), "on") {
		return "konnect_mode = on", true
	}
	v := strings.TrimSpace(conf["cluster_control_plane"])
	host := v
	if hh, _, err := net.SplitHostPort(v); err == nil {
		host = hh
	} else if i := strings.IndexAny(v, ":/"); i >= 0 {
		host = v[:i]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "konghq.com" || strings.HasSuffix(host, ".konghq.com") {
		return "cluster_control_plane = " + v, true
	}
	return "", false
}
