package sshfleet

import (
	"fmt"

	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/sshremote"
)

// SSHConfig builds the sshremote.Config of host h: resolved SSH settings,
// pinned host key, bastion chain (outermost first) and become (its
// password resolved from its reference, fed on stdin by sshremote).
func SSHConfig(inv *inventory.Inventory, h *inventory.Host) (*sshremote.Config, error) {
	return sshConfig(inv, h, true)
}

func sshConfig(inv *inventory.Inventory, h *inventory.Host, withJump bool) (*sshremote.Config, error) {
	s := h.SSH
	cfg := &sshremote.Config{
		Name: h.Name, Address: h.Address, Port: h.Port, User: s.User,
		KeyFiles: s.PrivateKeys, Passphrase: sshremote.DefaultPassphrase(), UseAgent: s.UseAgent,
		KnownHostsFiles: s.KnownHosts, HostKeyPolicy: sshremote.HostKeyPolicy(s.HostKeyPolicy),
		SSHConfigFile: s.SSHConfig, ConnectTimeout: s.ConnectTimeout, Keepalive: s.Keepalive, ConnectRetries: s.ConnectRetries,
	}
	if h.HostKey != "" {
		cfg.PinnedKeys = []string{h.HostKey}
	}
	if s.Become != nil && s.Become.Method == "sudo" {
		b := &sshremote.Become{Method: "sudo", User: s.Become.User}
		if !s.Become.Password.IsZero() {
			pw, err := s.Become.Password.Resolve()
			if err != nil {
				return nil, fmt.Errorf("host %s: become password: %w", h.Name, err)
			}
			b.Password = pw
		}
		cfg.Become = b
	}
	if withJump {
		for _, name := range s.Jump {
			jh := inv.Host(name)
			if jh == nil {
				return nil, fmt.Errorf("host %s: jump host %q is not in the inventory", h.Name, name)
			}
			jc, err := sshConfig(inv, jh, false)
			if err != nil {
				return nil, err
			}
			cfg.Jump = append(cfg.Jump, jc)
		}
	}
	return cfg, nil
}
