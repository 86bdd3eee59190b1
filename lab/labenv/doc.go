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
// Up to eight labs run on a machine at once, one per ID (Options.ID, 0..7;
// $KONGCTL_LAB_ID when 0): lab k has its own names ("kl<k>-*" netns and
// links, bridge klb<k>o; lab 0 keeps "kl-*" and klbr0), its own /19s
// (198.18.(32k).0/19 on its bridge, 198.19.(32k).0/19 behind its bastion) and
// its own dir (build/lab<k>; lab 0 keeps build/lab). Down of lab k removes
// everything with lab k's names, also after a crash or a half-finished Up,
// and nothing of another lab's. See NetworkOf.
//
// Everything here needs root, ip(8), nsenter/unshare(1), sshd and PostgreSQL;
// the package's own tests that need them carry the build tag "integration".
package labenv
