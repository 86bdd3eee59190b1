// Package controller is kongctl's library entry point: Plan, Upgrade,
// Rollback, Status and Unlock, all taking Options, and the results they
// return (aliases of the runner's types). It wires the production fleet
// connector (controller/sshfleet: SSH and the agent) when the caller gives
// none.
//
// Where the rest lives:
//   - controller/runner: the phases in Kong's documented order (preflight,
//     lock, backup, stop, install, migrations up and finish on one node,
//     start, verify, cleanup), the run state, the journaled step, bounded
//     fan-out, rollback, resume, plan and status;
//   - controller/fleet: the Node, Database, Locker and Connector interfaces
//     the runner consumes, pure;
//   - controller/sshfleet: the production Connector over SSH and the agent;
//   - controller/promtext: the /metrics parser the verify gates read;
//   - controller/cli and controller/cli/view: the command line, the text
//     and JSON views, the progress display and the exit codes.
package controller
