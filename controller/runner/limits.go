package runner

// Concurrency across hosts. Work whose cost falls on the bastion (SSH
// handshakes, agent delivery, facts) is bounded by bastionLimit, package
// uploads by uploadLimit. Work that runs on the nodes themselves (install,
// verify), where the bastion only waits on a connection it already holds,
// goes wider (nodeLimit). Starting Kong stays at startLimit: every node
// opens its database connections as it starts, and a whole fleet at once
// makes the database time them out.
const (
	bastionLimit = 16
	uploadLimit  = 8
	nodeLimit    = 32
	startLimit   = 16
)
