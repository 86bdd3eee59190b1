package controller

// checkEffectiveConf refuses, before any stop, a node whose effective
// configuration could not be read (its systemd unit unreadable, an
// EnvironmentFile or the inventory's service_env_file missing): kong
// migrations and start would then run on other settings than Kong serves
// with, another database or the defaults (kong-reference 9.2).
func (e *engine) checkEffectiveConf(pf *preflightData) {
	for _, h := range append(append([]string(nil), e.spec.Nodes...), e.spec.Spares...) {
		f, ok := pf.Facts[h]
		if !ok || f.EnvError == "" {
			continue
		}
		e.find(Finding{Severity: SevError, Code: "effective-config", Host: h,
			Message: "the node's effective configuration cannot be read: " + e.red.redact(f.EnvError),
			Fix:     "make the Kong service's environment readable on the node (the unit's EnvironmentFile= files, or the inventory's upgrade.service_env_file), or fix the path in the inventory"})
	}
}
