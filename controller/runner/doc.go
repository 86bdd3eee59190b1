// Package runner runs an upgrade, a rollback, a plan or a status over a
// fleet it reaches only through fleet.Connector: the phases (one file
// each, with their undo), the run state (engine), the journaled step,
// bounded fan-out across hosts, the downtime window, rollback and resume,
// preflight checks, the verify gates, hooks, the write check and backup
// retention. It never imports the SSH transport or the agent client
// (architecture_test.go at the module root holds that).
//
// Entry points: Plan, Upgrade, Rollback, Status and Unlock, taking
// Options; the controller package re-exports them with the production
// connector.
package runner
