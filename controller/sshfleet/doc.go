// Package sshfleet is the production fleet.Connector: one SSH connection
// per inventory host (sshremote: jump chains, pinned host keys, become),
// the agent delivered to each and called through agentclient.
//
// Files by concern: connector.go (the connection cache, reconnect, agent
// delivery accounting), sshconfig.go (inventory → SSH configuration),
// agenthost.go (one host's connection and agent client), node.go,
// packages.go, migrations.go and keyring.go (the Node adapter), conf.go
// (kong.conf over the shell), listen.go (Kong listen settings → URLs),
// database.go, database_pg.go, stream.go and locker.go (the Database and
// Locker adapters on the tools host).
package sshfleet
