package runner

// phases returns the pipeline for the spec, in order.
func (e *engine) phases() []phase { return e.phaseList(e.spec.NewHosts && e.spec.Decommission) }

// journaledPhases is every phase a run of this spec may have journaled:
// `kongctl rollback` reads the journal against it, and the decommission
// is asked for by a flag (--decommission) the rollback does not repeat.
func (e *engine) journaledPhases() []phase { return e.phaseList(e.spec.NewHosts) }

func (e *engine) phaseList(decommission bool) []phase {
	ps := []phase{preflightPhase{}, lockPhase{}, backupPhase{}}
	if e.spec.Rehearsal != "" && !e.spec.NoRehearsal {
		ps = append(ps, rehearsalPhase{})
	}
	if e.spec.DualCluster {
		return append(ps, e.dualClusterPhases()...)
	}
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
	if decommission {
		ps = append(ps, decommissionPhase{})
	}
	return append(ps, cleanupPhase{})
}
