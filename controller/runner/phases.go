package runner

// phases returns the pipeline for the spec, in order.
func (e *engine) phases() []phase {
	return e.phaseList(e.spec.NewHosts && e.spec.Decommission, len(e.spec.rolledDataPlanes()) > 0)
}

// journaledPhases is every phase a run of this spec may have journaled:
// `kongctl rollback` reads the journal against it, and the decommission
// is asked for by a flag (--decommission) the rollback does not repeat;
// the data planes' roll, by an inventory setting (data_planes) the
// operator may have changed since.
func (e *engine) journaledPhases() []phase {
	return e.phaseList(e.spec.NewHosts, len(e.spec.DataPlanes) > 0)
}

func (e *engine) phaseList(decommission, dataPlanes bool) []phase {
	ps := []phase{preflightPhase{}, lockPhase{}, backupPhase{}}
	if e.spec.Rehearsal != "" && !e.spec.NoRehearsal {
		ps = append(ps, rehearsalPhase{})
	}
	if e.spec.DualCluster {
		return append(ps, e.dualClusterPhases(decommission)...)
	}
	if e.spec.NewHosts {
		ps = append(ps, preparePhase{})
	}
	after := e.spec.finishAfterVerify()
	ps = append(ps, hookPhase{PhaseBeforeStop, HookBeforeStop},
		windowPhase{install: !e.spec.NewHosts, finish: !after},
		hookPhase{PhaseAfterStart, HookAfterStart}, verifyPhase{})
	if after {
		ps = append(ps, migratePhase{finish: true})
	}
	if dataPlanes {
		ps = append(ps, dataPlanePhase{})
	}
	if decommission {
		ps = append(ps, decommissionPhase{})
	}
	return append(ps, cleanupPhase{})
}
