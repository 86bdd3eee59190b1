package kongsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hybrid mode uses a small HTTP protocol of the simulator's own on
// cluster_listen: a data plane POSTs /v1/sync with its node id, hostname,
// version and configuration hash once a second; the control plane answers
// 200 with {config_hash, config} when the data plane's version is compatible
// (reference 6.9), 403 {"message":"kong_version_incompatible"} otherwise,
// and records every data plane in clustering_data_planes.

// SyncRequest is what a data plane sends.
type SyncRequest struct {
	NodeID     string `json:"node_id"`
	Hostname   string `json:"hostname"`
	Version    string `json:"version"`
	ConfigHash string `json:"config_hash"`
}

// SyncResponse is the control plane's answer.
type SyncResponse struct {
	ConfigHash string      `json:"config_hash"`
	Config     *KongConfig `json:"config,omitempty"`
	Message    string      `json:"message,omitempty"`
}

// DataPlane is one row of GET /clustering/data-planes.
type DataPlane struct {
	ID         string `json:"id"`
	Hostname   string `json:"hostname"`
	IP         string `json:"ip"`
	Version    string `json:"version"`
	LastSeen   int64  `json:"last_seen"`
	SyncStatus string `json:"sync_status"`
	ConfigHash string `json:"config_hash"`
}

type cpState struct {
	mu sync.Mutex
	// last known per-DP compatibility (for metrics)
	seen map[string]DataPlane
}

func (d *daemon) clusterHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sync", d.serveSync)
	return mux
}

func (d *daemon) serveSync(w http.ResponseWriter, r *http.Request) {
	var req SyncRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || !isUUID(req.NodeID) {
		writeJSON(w, 400, map[string]string{"message": "bad sync request"})
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	cfg, hash, _ := d.snapshot()
	status := "normal"
	compatible := d.app.rel.CompatibleDP(req.Version)
	if !compatible {
		status = "kong_version_incompatible"
	}
	dp := DataPlane{ID: req.NodeID, Hostname: req.Hostname, IP: ip, Version: req.Version, LastSeen: time.Now().Unix(), SyncStatus: status, ConfigHash: req.ConfigHash}
	if dp.ConfigHash == "" {
		dp.ConfigHash = "00000000000000000000000000000000"
	}
	d.recordDataPlane(r.Context(), dp)
	if !compatible {
		d.logf("warn", "[clustering] unable to send updated configuration to data plane: data plane %s (%s) version %s is incompatible with control plane version %s (major must match, minor must be <= control plane's)",
			req.Hostname, ip, req.Version, d.app.rel.MetaVersion())
		writeJSON(w, 403, SyncResponse{Message: "kong_version_incompatible"})
		return
	}
	if cfg == nil {
		writeJSON(w, 503, SyncResponse{Message: "control plane has no configuration yet"})
		return
	}
	if req.ConfigHash == hash {
		writeJSON(w, 200, SyncResponse{ConfigHash: hash})
		return
	}
	writeJSON(w, 200, SyncResponse{ConfigHash: hash, Config: cfg})
}

func (d *daemon) recordDataPlane(ctx context.Context, dp DataPlane) {
	if d.hybrid != nil {
		d.hybrid.mu.Lock()
		if d.hybrid.seen == nil {
			d.hybrid.seen = map[string]DataPlane{}
		}
		d.hybrid.seen[dp.ID] = dp
		d.hybrid.mu.Unlock()
	}
	if d.pool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := d.pool.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `
INSERT INTO clustering_data_planes (id, hostname, ip, last_seen, config_hash, ttl, version, sync_status)
VALUES ($1, $2, $3, to_timestamp($4), $5, to_timestamp($4) + interval '14 days', $6, $7)
ON CONFLICT (id) DO UPDATE SET hostname = $2, ip = $3, last_seen = to_timestamp($4), config_hash = $5,
  ttl = to_timestamp($4) + interval '14 days', version = $6, sync_status = $7`,
			dp.ID, dp.Hostname, dp.IP, dp.LastSeen, dp.ConfigHash, dp.Version, dp.SyncStatus)
		return err
	})
	if err != nil {
		d.logf("error", "[clustering] unable to record data plane %s: %s", dp.ID, pgErrText(err))
	}
}

func (d *daemon) listDataPlanes(w http.ResponseWriter, r *http.Request) {
	d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
		rows, err := c.Query(ctx, `SELECT id::text, hostname, ip, coalesce(version,''), extract(epoch from last_seen)::bigint, coalesce(sync_status,'unknown'), config_hash
FROM clustering_data_planes WHERE ttl IS NULL OR ttl > now() ORDER BY hostname, id`)
		if err != nil {
			return 0, nil, err
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DataPlane, error) {
			var dp DataPlane
			err := row.Scan(&dp.ID, &dp.Hostname, &dp.IP, &dp.Version, &dp.LastSeen, &dp.SyncStatus, &dp.ConfigHash)
			return dp, err
		})
		if out == nil {
			out = []DataPlane{}
		}
		return 200, map[string]any{"data": out, "next": nil}, err
	})
}

func (d *daemon) cpMetrics(b *strings.Builder) {
	if d.hybrid == nil {
		return
	}
	d.hybrid.mu.Lock()
	defer d.hybrid.mu.Unlock()
	fmt.Fprintf(b, "# HELP kong_data_plane_last_seen Last time data plane contacted control plane\n# TYPE kong_data_plane_last_seen gauge\n")
	for _, dp := range d.hybrid.seen {
		fmt.Fprintf(b, "kong_data_plane_last_seen{node_id=%q,hostname=%q,ip=%q} %d\n", dp.ID, dp.Hostname, dp.IP, dp.LastSeen)
	}
	fmt.Fprintf(b, "# HELP kong_data_plane_version_compatible Version compatible status of the data plane, 0 is incompatible\n# TYPE kong_data_plane_version_compatible gauge\n")
	for _, dp := range d.hybrid.seen {
		c := 0
		if dp.SyncStatus != "kong_version_incompatible" {
			c = 1
		}
		fmt.Fprintf(b, "kong_data_plane_version_compatible{node_id=%q,hostname=%q,ip=%q,kong_version=%q} %d\n", dp.ID, dp.Hostname, dp.IP, dp.Version, c)
	}
}

// pollControlPlane is one data plane sync round.
func (d *daemon) pollControlPlane(ctx context.Context) {
	_, hash, _ := d.snapshot()
	req := SyncRequest{NodeID: d.nodeID, Hostname: d.hostname, Version: d.app.rel.MetaVersion(), ConfigHash: hash}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.conf.Get("cluster_control_plane")+"/v1/sync", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		if d.cpConnected.Swap(false) {
			d.logf("error", "[clustering] connection to control plane %s broken: %v", d.conf.Get("cluster_control_plane"), err)
		}
		return
	}
	defer resp.Body.Close()
	var sr SyncResponse
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&sr)
	if resp.StatusCode != 200 {
		if d.cpConnected.Swap(false) || resp.StatusCode == 403 {
			d.logf("error", "[clustering] control plane %s refused this data plane: %s", d.conf.Get("cluster_control_plane"), sr.Message)
		}
		return
	}
	d.cpConnected.Store(true)
	if sr.Config != nil && sr.ConfigHash != hash {
		d.setConfig(sr.Config)
		b, _ := json.Marshal(sr.Config)
		tmp := filepath.Join(d.prefix, "config.cache.tmp")
		if os.WriteFile(tmp, b, 0o600) == nil {
			_ = os.Rename(tmp, filepath.Join(d.prefix, "config.cache"))
		}
		d.logf("notice", "[clustering] received configuration %s from control plane", sr.ConfigHash)
	}
}
