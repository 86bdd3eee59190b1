// Command kongctl-lab brings the rehearsal lab up and down and injects faults
// (see lab/labenv and mk/lab.mk).
//
// Every command takes --id K (0..7, default $KONGCTL_LAB_ID, else 0) and
// --dir DIR (default build/lab, build/lab<K>); labs with different IDs run
// side by side.
//
//	kongctl-lab up [--nodes N] [--from V] [--to V] [--edition oss|enterprise]
//	               [--bastion] [--user NAME] [--hybrid] [--dps N] [--spares N]
//	               [--package-format deb|rpm|dnf] [--repository] [--rbac 1] [--keyring 1] [--lb 1] [--db2 1]
//	kongctl-lab down
//	kongctl-lab status
//	kongctl-lab fault FAULT HOST
//	kongctl-lab ssh HOST [COMMAND...]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
