package controller

import (
	"errors"

	"github.com/kongctl/kongctl/inventory"
)

// NewConnector returns the production Connector for inv: SSH (sshremote)
// to each host, the agent delivered and called through agentclient.
func NewConnector(inv *inventory.Inventory) (Connector, error) {
	return nil, errors.New("ssh connector not wired yet")
}
