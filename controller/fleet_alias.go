package controller

import "github.com/kongctl/kongctl/controller/fleet"

// The fleet's interfaces (Options.Connector injects one) and the fleet's
// values the results carry, under their old names: see controller/fleet.
type (
	Connector     = fleet.Connector
	Node          = fleet.Node
	Database      = fleet.Database
	Locker        = fleet.Locker
	AgentDelivery = fleet.AgentDelivery
	BackupInfo    = fleet.BackupInfo
	ConfSetting   = fleet.ConfSetting
	LockInfo      = fleet.LockInfo
	SchemaState   = fleet.SchemaState
)
