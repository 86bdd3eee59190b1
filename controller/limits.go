package controller

// Concurrency across hosts, from the inventory. ssh.concurrency
// (Spec.Concurrency, default 16) bounds the work whose cost falls on the
// bastion (SSH handshakes, agent delivery, facts, status) and starting
// Kong: every node opens its database connections as it starts, and a
// whole fleet at once makes the database time them out. Work that runs on
// the nodes themselves (stop, install, verify), where the bastion only
// waits on a connection it already holds, goes twice as wide.
// ssh.upload_concurrency (Spec.UploadConcurrency, default 8) bounds
// package uploads.
//
// Call sites name one of these classes; engine.forEach (and the window's
// start semaphore) resolve it with Spec.limit. A positive limit is used as
// given.
const (
	bastionLimit = -1 - iota
	uploadLimit
	nodeLimit
	startLimit
)

// limit resolves a concurrency class against s (see above); any other
// value is returned as it is.
func (s *Spec) limit(class int) int {
	c := s.Concurrency
	if c <= 0 {
		c = 16
	}
	switch class {
	case bastionLimit, startLimit:
		return c
	case nodeLimit:
		return 2 * c
	case uploadLimit:
		if s.UploadConcurrency <= 0 {
			return 8
		}
		return s.UploadConcurrency
	}
	return class
}
