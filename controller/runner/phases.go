package runner

// phases returns the pipeline for the spec, in order.
func (e *engine) phases() []phase {
	ps := []phase{preflightPhase{}, lockPhase{}, backupPhase{}}
	if e.spec.NewHosts {
		ps = append(ps, preparePhase{})
	}
	after := e.spec.finishAfterVerify()
	ps = append(ps, hookPhase{PhaseBeforeStop, HookBeforeStop},
		windowPhase{install: !e.spec.NewHosts, finish: !after},
		hookPhase{PhaseAfterStart, HookAfterStart}, verifyPhase{})
	if after {
		ps = append(ps, migrateFinishPhase{})
	}
	if e.spec.NewHosts && e.spec.Decommission {
		ps = append(ps, decommissionPhase{})
	}
	return append(ps, cleanupPhase{})
}
