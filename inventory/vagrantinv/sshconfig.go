// Package vagrantinv turns the output of `vagrant ssh-config` into a kongctl
// inventory (hosts.hcl), so that `kongctl upgrade -i` runs against Vagrant
// VMs exactly as against production.
//
// Three steps, each usable on its own:
//
//   - Parse reads the ssh_config text Vagrant prints (one Host block per
//     machine; libvirt and VirtualBox shapes, quoted paths, CRLF endings).
//   - Probe logs in to a machine the way `vagrant ssh` does and reads its
//     addresses and its ed25519 host key; CheckAddress confirms that the
//     chosen private-network address reaches the same sshd (the key is pinned
//     in the inventory, so later connections are strict).
//   - Render writes the inventory for a set of probed machines.
//
// Generate runs all three.
package vagrantinv

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Host is one Host block of `vagrant ssh-config` output.
type Host struct {
	Name          string   // the Host pattern: the Vagrant machine name
	HostName      string   // address Vagrant connects to (management network or 127.0.0.1)
	User          string   // login user, "vagrant" for standard boxes
	Port          int      // default 22
	IdentityFiles []string // private keys, in order, unquoted
	// Options holds every other keyword, lower-cased, with its last value
	// (e.g. "stricthostkeychecking": "no", "proxycommand": "...").
	Options map[string]string
	Line    int // line of the Host keyword, 1-based
}

// Parse reads `vagrant ssh-config` output. It accepts any ssh_config text
// made of Host blocks: keywords are case-insensitive, separated from their
// value by spaces or "=", values may be double-quoted, and lines may end in
// CRLF. A keyword before the first Host, a Host with several patterns or a
// wildcard, or a duplicate Host is an error naming the line.
func Parse(r io.Reader) ([]Host, error) {
	var hosts []Host
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, err := splitLine(line)
		if err != nil {
			return nil, fmt.Errorf("ssh-config line %d: %w", n, err)
		}
		lk := strings.ToLower(key)
		if lk == "host" {
			fields, err := splitValues(val)
			if err != nil {
				return nil, fmt.Errorf("ssh-config line %d: %w", n, err)
			}
			if len(fields) != 1 || strings.ContainsAny(fields[0], "*?!") {
				return nil, fmt.Errorf("ssh-config line %d: Host %q: want exactly one machine name, as vagrant ssh-config prints", n, val)
			}
			name := fields[0]
			if prev, ok := seen[name]; ok {
				return nil, fmt.Errorf("ssh-config line %d: Host %q already defined at line %d", n, name, prev)
			}
			seen[name] = n
			hosts = append(hosts, Host{Name: name, Port: 22, Options: map[string]string{}, Line: n})
			continue
		}
		if len(hosts) == 0 {
			return nil, fmt.Errorf("ssh-config line %d: %q before the first Host line (is this vagrant ssh-config output?)", n, key)
		}
		h := &hosts[len(hosts)-1]
		v, err := unquote(val)
		if err != nil {
			return nil, fmt.Errorf("ssh-config line %d: %s: %w", n, key, err)
		}
		switch lk {
		case "hostname":
			h.HostName = v
		case "user":
			h.User = v
		case "port":
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("ssh-config line %d: Port %q is not a port number", n, v)
			}
			h.Port = p
		case "identityfile":
			h.IdentityFiles = append(h.IdentityFiles, v)
		default:
			h.Options[lk] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ssh-config: %w", err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("ssh-config: no Host blocks (no machine is created, or this is not vagrant ssh-config output)")
	}
	for _, h := range hosts {
		if h.HostName == "" {
			return nil, fmt.Errorf("ssh-config line %d: Host %q has no HostName", h.Line, h.Name)
		}
	}
	return hosts, nil
}

// splitLine splits "Key value", "Key=value" or "Key = value".
func splitLine(line string) (key, val string, err error) {
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return "", "", fmt.Errorf("keyword %q has no value", line)
	}
	key = line[:i]
	rest := strings.TrimLeft(line[i:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if rest == "" {
		return "", "", fmt.Errorf("keyword %q has no value", key)
	}
	return key, rest, nil
}

// unquote returns a value with surrounding double quotes removed ("a b" →
// a b). Unquoted values are returned as they are (spaces inside kept, as
// Vagrant writes values with spaces in quotes).
func unquote(v string) (string, error) {
	if !strings.HasPrefix(v, `"`) {
		return v, nil
	}
	end := strings.Index(v[1:], `"`)
	if end < 0 {
		return "", fmt.Errorf("unterminated quote in %s", v)
	}
	if rest := strings.TrimSpace(v[end+2:]); rest != "" {
		return "", fmt.Errorf("unexpected %q after the quoted value", rest)
	}
	return v[1 : end+1], nil
}

// splitValues splits a list of whitespace-separated, possibly quoted words.
func splitValues(v string) ([]string, error) {
	var out []string
	for v = strings.TrimSpace(v); v != ""; v = strings.TrimSpace(v) {
		if v[0] == '"' {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %s", v)
			}
			out = append(out, v[1:end+1])
			v = v[end+2:]
			continue
		}
		i := strings.IndexAny(v, " \t")
		if i < 0 {
			out = append(out, v)
			break
		}
		out = append(out, v[:i])
		v = v[i:]
	}
	return out, nil
}
