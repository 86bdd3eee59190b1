package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// dpPoll is how often the control planes' data-plane list is read while
// a data plane reconnects.
const dpPoll = time.Second

// zeroHash is the configuration hash of a data plane that has none yet.
const zeroHash = "00000000000000000000000000000000"

// dpConnected is what the journal keeps of a data plane seen connected.
type dpConnected struct {
	ControlPlane string  `json:"control_plane"`
	ID           string  `json:"id"`
	Version      string  `json:"version"`
	ConfigHash   string  `json:"config_hash"`
	LastSeen     int64   `json:"last_seen"`
	Waited       float64 `json:"waited_seconds"`
}

// waitConnected waits until a control plane reports data plane h
// connected on want (kong-reference 9.8): a row of /clustering/data-planes
// for h's address (or name) seen since started, on want, sync_status
// normal, with a configuration hash that is not the empty one and equals
// the one the other data planes connected now report (the control plane
// publishes no expected hash; with no other data plane connected, h's own
// hash stands). At most Timeouts.DataPlane; the error says what the
// control planes saw last.
func (e *engine) waitConnected(ctx context.Context, h, want string, started time.Time) (dpConnected, error) {
	t0 := e.clk.Now()
	deadline := t0.Add(e.spec.Timeouts.DataPlane)
	var last string
	for {
		cp, rows, err := e.listDataPlanes(ctx)
		if err == nil {
			d, why := e.connectedRow(h, want, started, rows)
			if why == "" {
				d.ControlPlane, d.Waited = cp, e.clk.Now().Sub(t0).Seconds()
				return d, nil
			}
			last = fmt.Sprintf("control plane %s: %s", cp, why)
		} else {
			last = e.red.err(err)
		}
		if !e.clk.Now().Before(deadline) {
			return dpConnected{}, fmt.Errorf("wait for data plane %s connected on %s: not after %s (%s)", h, want, e.spec.Timeouts.DataPlane, last)
		}
		if err := e.clk.Sleep(ctx, dpPoll); err != nil {
			return dpConnected{}, err
		}
	}
}

// listDataPlanes reads /clustering/data-planes from the first control
// plane that answers.
func (e *engine) listDataPlanes(ctx context.Context) (string, []fleet.DataPlane, error) {
	var errs []error
	for _, cp := range e.controlPlanes() {
		n, err := e.node(ctx, cp)
		if err == nil {
			var rows []fleet.DataPlane
			if rows, err = n.DataPlanes(ctx); err == nil {
				return cp, rows, nil
			}
		}
		errs = append(errs, fmt.Errorf("list data planes on %s: %w", cp, err))
	}
	if len(errs) == 0 {
		return "", nil, errors.New("list data planes: the inventory has no control plane")
	}
	return "", nil, errors.Join(errs...)
}

// connectedRow finds h connected on want in rows; otherwise it says why
// not.
func (e *engine) connectedRow(h, want string, started time.Time, rows []fleet.DataPlane) (dpConnected, string) {
	addr := e.spec.host(h).Address
	mine := func(r fleet.DataPlane) bool { return (addr != "" && r.IP == addr) || r.Hostname == h }
	// The hash the other data planes connected now hold: the most common
	// among the rows synced within a minute of the freshest one.
	var newest int64
	for _, r := range rows {
		newest = max(newest, r.LastSeen)
	}
	count := map[string]int{}
	for _, r := range rows {
		if !mine(r) && synced(r) && r.LastSeen >= newest-60 && r.ConfigHash != zeroHash {
			count[r.ConfigHash]++
		}
	}
	expect := ""
	for hash, n := range count {
		if expect == "" || n > count[expect] || (n == count[expect] && hash < expect) {
			expect = hash
		}
	}
	why := "has not seen " + h + " since its start"
	for _, r := range rows {
		if !mine(r) || r.LastSeen < started.Unix() {
			continue
		}
		switch {
		case !sameVersion(r.Version, want):
			why = fmt.Sprintf("sees %s on %s", h, dash(r.Version))
		case !synced(r):
			why = fmt.Sprintf("sees %s on %s with sync_status %s", h, r.Version, r.SyncStatus)
		case r.ConfigHash == "" || r.ConfigHash == zeroHash:
			why = fmt.Sprintf("sees %s on %s with no configuration yet", h, r.Version)
		case expect != "" && r.ConfigHash != expect:
			why = fmt.Sprintf("sees %s on %s with configuration %s, the other data planes have %s", h, r.Version, r.ConfigHash, expect)
		default:
			return dpConnected{ID: r.ID, Version: r.Version, ConfigHash: r.ConfigHash, LastSeen: r.LastSeen}, ""
		}
	}
	return dpConnected{}, why
}

// synced: the control plane syncs the data plane (or does not say).
func synced(r fleet.DataPlane) bool { return r.SyncStatus == "" || r.SyncStatus == "normal" }
