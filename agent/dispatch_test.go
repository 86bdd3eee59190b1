package agent

import (
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Every operation of the protocol has exactly one handler: the database
// ones in dbHandlers (none in a node agent), the others in handlers.
func TestEveryOpHasAHandler(t *testing.T) {
	for op := range agentproto.Ops {
		_, node := handlers[op]
		_, db := dbHandlers[op]
		if want := !op.Database(); node != want {
			t.Errorf("%s: in handlers %v, want %v", op, node, want)
		}
		if want := op.Database() && HasDBOps; db != want {
			t.Errorf("%s: in dbHandlers %v, want %v", op, db, want)
		}
	}
	for _, m := range []map[agentproto.Op]handler{handlers, dbHandlers} {
		for op := range m {
			if _, ok := agentproto.Ops[op]; !ok {
				t.Errorf("handler for %s, which the protocol does not list", op)
			}
		}
	}
}
