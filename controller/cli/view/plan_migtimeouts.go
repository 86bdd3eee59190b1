package view

import (
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller"
)

// writePlanMigTimeouts writes the plan's migration timeouts line.
func writePlanMigTimeouts(b *strings.Builder, mt *controller.MigrationTimeouts) {
	if mt == nil {
		return
	}
	fmt.Fprintf(b, "\nmigration timeouts: --db-timeout %s (%s), --lock-timeout %s (%s)\n",
		mt.DBTimeout, mt.DBSource, mt.LockTimeout, mt.LockSource)
	if mt.DBSource == "inventory" || mt.LockSource == "inventory" {
		fmt.Fprintf(b, "  sized from the data: --db-timeout %s, --lock-timeout %s\n", mt.SizedDB, mt.SizedLock)
	}
	fmt.Fprintf(b, "  rows: %s\n", mt.RowsText())
	if len(mt.Migrations) > 0 {
		fmt.Fprintf(b, "  migrations that rewrite them: %s\n", strings.Join(mt.Migrations, ", "))
	}
	fmt.Fprintf(b, "  %s\n", mt.Formula)
	if mt.Rehearsed > 0 {
		fmt.Fprintf(b, "  the rehearsal's longest migrations command took %s: the run allows at least 3 times it\n", mt.Rehearsed)
	}
}
