package labenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stateFormat is the version of state.json (labs written before IDs existed
// carry no "id" and are lab 0).
const stateFormat = 1

// Host kinds.
const (
	KindDatabase = "database"
	KindBastion  = "bastion"
	KindKong     = "kong" // traditional node, or control plane in hybrid mode
	KindDP       = "data_plane"
	KindSpare    = "spare"
	KindLB       = "load_balancer"
)

// Host is one lab host as recorded in state.json.
type Host struct {
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Roles []string `json:"roles"`
	// Address is where SSH reaches the host (inner address behind a bastion).
	Address string `json:"address"`
	// OuterAddress is the bastion's address on the machine's bridge.
	OuterAddress string `json:"outer_address,omitempty"`
	Netns        string `json:"netns"`
	// Veth is the host-side end of the host's link; VethNetns is the
	// namespace that holds it ("" = the machine).
	Veth      string `json:"veth"`
	VethNetns string `json:"veth_netns,omitempty"`
	// HolderPID keeps the host's mount, UTS and IPC namespaces alive (a
	// `sleep infinity` that ran the mount setup); SSHDPID is its sshd.
	HolderPID int    `json:"holder_pid"`
	SSHDPID   int    `json:"sshd_pid"`
	MntNS     uint64 `json:"mnt_ns"`
	NetNS     uint64 `json:"net_ns"`
	HostKey   string `json:"host_key"` // "ssh-ed25519 AAAA..."
	Dir       string `json:"dir"`
}

// HasRole reports whether the host carries an inventory role.
func (h *Host) HasRole(role string) bool {
	for _, r := range h.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// IsKong reports whether Kong runs on the host (traditional, CP or DP).
func (h *Host) IsKong() bool { return h.Kind == KindKong || h.Kind == KindDP }

// State is the lab's state.json: enough to reuse, fault and tear down a lab.
type State struct {
	Format      int       `json:"format"`
	Phase       string    `json:"phase"` // building | ready
	Fingerprint string    `json:"fingerprint"`
	Options     Options   `json:"options"`
	To          string    `json:"to"`
	Dir         string    `json:"dir"`
	Hosts       []*Host   `json:"hosts"`
	Routes      []string  `json:"routes,omitempty"` // machine routes we added (ip route args)
	RunNetns    bool      `json:"run_netns_was_mounted"`
	DBData      string    `json:"db_data"`
	DBPort      int       `json:"db_port"`
	StartedAt   time.Time `json:"started_at"`
	ReadyAt     time.Time `json:"ready_at,omitzero"`
	UpSeconds   float64   `json:"up_seconds,omitempty"`
}

const (
	phaseBuilding = "building"
	phaseReady    = "ready"
)

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read %s: %w", statePath(dir), err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("read %s: format %d, want %d", statePath(dir), st.Format, stateFormat)
	}
	return &st, nil
}

func writeState(st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lab state: %w", err)
	}
	tmp := statePath(st.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	if err := os.Rename(tmp, statePath(st.Dir)); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return nil
}

// plan lays out the hosts of a lab (names, kinds, roles, addresses, links)
// from its ID's network (see NetworkOf).
func plan(o Options) []*Host {
	n := NetworkOf(o.ID)
	var hosts []*Host
	inner := o.Bastion
	addr := func(group, i int) string {
		if inner {
			return n.inner(group, i)
		}
		return n.outer(group, i)
	}
	add := func(name, kind string, roles []string, address string) *Host {
		h := &Host{Name: name, Kind: kind, Roles: roles, Address: address, Netns: n.Prefix + name, Veth: n.Prefix + name}
		if inner && kind != KindBastion {
			h.VethNetns = n.Prefix + "bastion"
		}
		h.Dir = filepath.Join(o.Dir, "hosts", name)
		hosts = append(hosts, h)
		return h
	}
	if o.Bastion {
		b := add("bastion", KindBastion, []string{"bastion"}, n.outer(groupInfra, 3))
		b.OuterAddress = b.Address
	}
	add("db", KindDatabase, []string{"database"}, addr(groupInfra, 2))
	if o.LB {
		add(LBHostName, KindLB, []string{"load_balancer"}, addr(groupInfra, lbLast))
	}
	role := "kong"
	if o.Hybrid {
		role = "control_plane"
	}
	for i := 1; i <= o.Nodes; i++ {
		add(fmt.Sprintf("kong-%d", i), KindKong, []string{role}, addr(groupKong, i))
	}
	for i := 1; i <= o.DPs; i++ {
		add(fmt.Sprintf("dp-%d", i), KindDP, []string{"data_plane"}, addr(groupDP, i))
	}
	for i := 1; i <= o.Spares; i++ {
		add(fmt.Sprintf("spare-%d", i), KindSpare, []string{"spare"}, addr(groupSpare, i))
	}
	return hosts
}
