package fleet

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

type lostErr struct{}

func (lostErr) Error() string        { return "session: EOF" }
func (lostErr) ConnectionLost() bool { return true }

func TestConnectionClassification(t *testing.T) {
	refused := errors.New("dial tcp: connection refused")
	if err := ConnectFailed(refused); !ConnectionLost(fmt.Errorf("connect to kong-1: %w", err)) || !errors.Is(err, refused) {
		t.Errorf("a failed connection is one that may come back: %v", err)
	}
	hostKey := Permanent(errors.New("host key mismatch"))
	if err := ConnectFailed(hostKey); ConnectionLost(err) || !IsPermanent(fmt.Errorf("kong-1: %w", err)) {
		t.Errorf("a permanent refusal must not be retried: %v", err)
	}
	if !ConnectionLost(fmt.Errorf("host x: agent op: %w", lostErr{})) {
		t.Error("a transport's lost call is not seen")
	}
	if ConnectionLost(errors.New("kong start exited 1")) || ConnectFailed(nil) != nil || Permanent(nil) != nil {
		t.Error("an operation's own failure is not a lost connection")
	}
}

func TestChangedTables(t *testing.T) {
	a := Fingerprint{Tables: map[string]string{"routes": "1", "services": "2", "ratelimiting_metrics": "3"}}
	b := Fingerprint{Tables: map[string]string{"routes": "1", "services": "9", "ratelimiting_metrics": "4", "plugins": "5"}}
	if got := a.ChangedTables(b); !slices.Equal(got, []string{"plugins", "ratelimiting_metrics", "services"}) {
		t.Errorf("changed %v", got)
	}
	if got := ConfigChanged(a, b); !slices.Equal(got, []string{"plugins", "services"}) {
		t.Errorf("configuration tables changed %v (runtime tables are left out)", got)
	}
	s := WriteSignature{Tables: map[string]string{"routes": "1 2 0 0"}}
	if got := s.ChangedTables(WriteSignature{Tables: map[string]string{"routes": "1 3 0 0"}}); !slices.Equal(got, []string{"routes"}) {
		t.Errorf("signature changed %v", got)
	}
}

func TestDatabaseUnreachable(t *testing.T) {
	if !DatabaseUnreachable(fmt.Errorf("host db: agent fleet_lock: %w", agentproto.Errorf(agentproto.CodeDBUnreachable, "connection refused"))) {
		t.Error("the agent's db_unreachable is not seen")
	}
	if DatabaseUnreachable(agentproto.Errorf(agentproto.CodeKongFailed, "kong start exited 1")) || DatabaseUnreachable(errors.New("x")) {
		t.Error("another failure taken for an unreachable database")
	}
}

func TestIsStepLost(t *testing.T) {
	if !IsStepLost(fmt.Errorf("host kong-1: package.install step s is lost: %w", ErrStepLost)) ||
		!IsStepLost(fmt.Errorf("host kong-1: agent attach: %w", agentproto.Errorf(agentproto.CodeStepLost, "step s (pid 9) ended without recording a reply"))) {
		t.Error("a lost step is not seen")
	}
	if IsStepLost(agentproto.Errorf(agentproto.CodeCommandFailed, "dpkg -i exited 1")) || IsStepLost(lostErr{}) {
		t.Error("another failure taken for a lost step")
	}
}
