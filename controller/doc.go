// Package controller runs kongctl's in-place upgrade of a Kong fleet: typed
// phases in Kong's documented order (preflight, lock, backup, stop, install,
// migrations up and finish on one node, start, verify, cleanup), each with
// an optional rollback, a run journal on the bastion for resume, a plan
// (preflight without downtime), and status.
//
// The controller declares the small interfaces it consumes (Node, Database,
// Locker, Connector in node.go). Production wires them to the agent over
// SSH; tests use in-process fakes.
//
// Entry points for the CLI: Plan, Upgrade, Rollback and Status, all taking
// Options. Reports carry an Outcome that the CLI maps to an exit code.
package controller
