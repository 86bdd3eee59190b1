// Package labenv brings the rehearsal lab up and down: a bridge with addresses
// from 198.18.0.0/15, a database host running a real PostgreSQL cluster, and N
// Kong hosts, each a network namespace plus a private mount namespace running a
// real OpenSSH sshd, with the simulated Kong installed from its .deb with dpkg.
//
// The make targets (mk/lab.mk), the kongctl-lab command and the integration
// tests all use this package:
//
//	lab, err := labenv.Up(ctx, labenv.Options{Nodes: 3, From: "2.8.4"})
//	defer lab.Down()
//	out, err := lab.SSH(ctx, "kong-1", "kong version")
//
// One lab runs on a machine at a time: every namespace and link carries the
// prefix "kl-" (the bridge is klbr0), and Down removes everything with that
// prefix, also after a crash or a half-finished Up.
//
// Everything here needs root, ip(8), nsenter/unshare(1), sshd and PostgreSQL;
// the package's own tests that need them carry the build tag "integration".
package labenv
