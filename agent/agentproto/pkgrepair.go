package agentproto

import "time"

// ---- package.repair: finish a package operation that was cut off ----

// OpPackageRepair checks the node's package database for an operation
// left half-done (a dpkg run killed mid-way, an rpm transaction that left
// two versions of a package) and finishes it. It first waits for the
// node's detached package.install steps that still run: their package
// manager holds the lock and is not half-done, only busy.
const OpPackageRepair Op = "package.repair"

func init() {
	Ops[OpPackageRepair] = OpInfo{func() any { return new(RepairParams) }, func() any { return new(RepairResult) }}
}

// RepairParams names the package whose duplicates rpm hosts look for
// (dpkg's audit covers every package).
type RepairParams struct {
	Package string `json:"package"`          // kong | kong-enterprise-edition
	Format  string `json:"format,omitempty"` // deb | rpm; "" = from the node's package manager
	// StepWait bounds the wait for running package.install steps
	// (0: DefaultRepairStepWait).
	StepWait time.Duration `json:"step_wait,omitempty"`
}

// DefaultRepairStepWait is how long a repair waits for running detached
// installs by default.
const DefaultRepairStepWait = 10 * time.Minute

// Validate checks the params.
func (p *RepairParams) Validate() error { return validPackage(p.Package, p.Format) }

// RepairResult says what the check found and what was run.
type RepairResult struct {
	// Checked is the command that looked (dpkg --audit, rpm -q ...).
	Checked string `json:"checked"`
	// Found is what it reported as interrupted ("" when the package
	// database was consistent).
	Found string `json:"found,omitempty"`
	// Repaired is the command that repaired it ("" when nothing was).
	Repaired string `json:"repaired,omitempty"`
	// Output is the repair's output (its tail).
	Output string `json:"output,omitempty"`
	// WaitedFor lists the detached install steps that were still running
	// and were waited for first.
	WaitedFor []string `json:"waited_for,omitempty"`
}
