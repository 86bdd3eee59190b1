package sshremote

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// ApplySSHConfig fills cfg's unset fields from an OpenSSH client config
// file (~/.ssh/config style): HostName, Port, User, IdentityFile,
// UserKnownHostsFile, ProxyJump, ConnectTimeout, ServerAliveInterval and
// StrictHostKeyChecking=accept-new. Host blocks are matched against
// cfg.Address first, then cfg.Name; fields already set win. ProxyJump hops
// become cfg.Jump entries, each filled from the same file and inheriting
// cfg's key files, agent use, passphrase source, known_hosts files and
// host key policy. StrictHostKeyChecking=no is ignored: checks stay on.
// file "" means cfg.SSHConfigFile; a missing file is not an error. Dial
// calls it on a copy of the Config when SSHConfigFile is set.
func ApplySSHConfig(cfg *Config, file string) error {
	return applySSHConfigFile(cfg, file, true)
}

func applySSHConfigFile(cfg *Config, file string, withJump bool) error {
	if file == "" {
		file = cfg.SSHConfigFile
	}
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ssh config %s: %w", file, err)
	}
	sc, err := ssh_config.DecodeBytes(data)
	if err != nil {
		return fmt.Errorf("ssh config %s: %w", file, err)
	}
	if err := applySSHConfig(sc, cfg, withJump); err != nil {
		return fmt.Errorf("ssh config %s: host %s: %w", file, hopLabel(cfg), err)
	}
	return nil
}

func applySSHConfig(sc *ssh_config.Config, cfg *Config, withJump bool) error {
	var aliases []string
	for _, a := range []string{cfg.Address, cfg.Name} {
		if a != "" && (len(aliases) == 0 || aliases[0] != a) {
			aliases = append(aliases, a)
		}
	}
	if len(aliases) == 0 {
		return fmt.Errorf("neither name nor address set")
	}
	get := func(key string) (string, string) {
		for _, a := range aliases {
			if v, err := sc.Get(a, key); err == nil && v != "" {
				return v, a
			}
		}
		return "", ""
	}
	getAll := func(key string) ([]string, string) {
		for _, a := range aliases {
			if v, err := sc.GetAll(a, key); err == nil && len(v) > 0 {
				return v, a
			}
		}
		return nil, ""
	}
	home, _ := os.UserHomeDir()

	// HostName replaces an alias used as the address (OpenSSH semantics).
	if hn, alias := get("HostName"); hn != "" && (cfg.Address == "" || cfg.Address == alias) {
		cfg.Address = expandTokens(hn, alias, "", home)
	} else if cfg.Address == "" {
		cfg.Address = aliases[0]
	}
	if cfg.Port == 0 {
		if v, _ := get("Port"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return fmt.Errorf("bad Port %q", v)
			}
			cfg.Port = p
		}
	}
	if cfg.User == "" {
		if v, _ := get("User"); v != "" {
			cfg.User = v
		}
	}
	if len(cfg.KeyFiles) == 0 {
		if v, alias := getAll("IdentityFile"); len(v) > 0 {
			for _, f := range v {
				cfg.KeyFiles = append(cfg.KeyFiles, expandPath(expandTokens(f, alias, cfg.User, home), home))
			}
		}
	}
	if len(cfg.KnownHostsFiles) == 0 {
		if v, alias := get("UserKnownHostsFile"); v != "" && v != "none" {
			for _, f := range strings.Fields(v) {
				cfg.KnownHostsFiles = append(cfg.KnownHostsFiles, expandPath(expandTokens(f, alias, cfg.User, home), home))
			}
		}
	}
	if cfg.HostKeyPolicy == "" {
		if v, _ := get("StrictHostKeyChecking"); strings.EqualFold(v, "accept-new") {
			cfg.HostKeyPolicy = HostKeyAcceptNew
		}
	}
	if cfg.ConnectTimeout == 0 {
		if v, _ := get("ConnectTimeout"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				cfg.ConnectTimeout = time.Duration(n) * time.Second
			}
		}
	}
	if cfg.Keepalive == 0 {
		if v, _ := get("ServerAliveInterval"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				cfg.Keepalive = time.Duration(n) * time.Second
			}
		}
	}
	if withJump && len(cfg.Jump) == 0 {
		if v, _ := get("ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
			for _, hop := range strings.Split(v, ",") {
				j, err := parseJump(strings.TrimSpace(hop))
				if err != nil {
					return err
				}
				j.KeyFiles = nil
				if err := applySSHConfig(sc, j, false); err != nil {
					return fmt.Errorf("jump %s: %w", hop, err)
				}
				if len(j.KeyFiles) == 0 {
					j.KeyFiles = cfg.KeyFiles
				}
				if len(j.KnownHostsFiles) == 0 {
					j.KnownHostsFiles = cfg.KnownHostsFiles
				}
				if j.HostKeyPolicy == "" {
					j.HostKeyPolicy = cfg.HostKeyPolicy
				}
				j.UseAgent, j.AgentSocket, j.Passphrase = cfg.UseAgent, cfg.AgentSocket, cfg.Passphrase
				j.ConnectRetries, j.RetryBackoff, j.Logf = cfg.ConnectRetries, cfg.RetryBackoff, cfg.Logf
				if j.ConnectTimeout == 0 {
					j.ConnectTimeout = cfg.ConnectTimeout
				}
				if j.Keepalive == 0 {
					j.Keepalive = cfg.Keepalive
				}
				cfg.Jump = append(cfg.Jump, j)
			}
		}
	}
	return nil
}

// parseJump parses one ProxyJump hop: [user@]host[:port].
func parseJump(s string) (*Config, error) {
	if s == "" {
		return nil, fmt.Errorf("empty ProxyJump hop")
	}
	j := &Config{}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		j.User, s = s[:i], s[i+1:]
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("bad ProxyJump port in %q", s)
		}
		host, j.Port = h, n
	}
	j.Name, j.Address = host, host
	return j, nil
}

// expandTokens expands the ssh_config tokens kongctl supports: %h (host
// alias), %r (remote user), %d (local home), %%.
func expandTokens(s, host, user, home string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	r := strings.NewReplacer("%%", "%", "%h", host, "%r", user, "%d", home)
	return r.Replace(s)
}

func expandPath(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}
