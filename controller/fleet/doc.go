// Package fleet is the runner's view of the machines it upgrades: the
// Node, Database and Locker interfaces a Connector yields, the values they
// exchange (facts, packages, health, schema state, backups, the fleet
// lock) and how a failed call is classified (ConnectionLost, Permanent).
// It is pure: no SSH, no agent protocol client; controller/sshfleet is
// the production Connector and tests use fakes.
package fleet
