package kongsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"time"

	"github.com/jackc/pgx/v5"
)

// How the nodes of a cluster share the keyring (EE tree
// kong/keyring/strategies/cluster.lua): cluster_events rows on the
// keyring_register, keyring_broadcast and keyring_activate channels, read
// every db_update_frequency.

// clusterEvent is one cluster_events row (core/000_base).
type clusterEvent struct {
	ID, NodeID, Channel, Data string
	At                        time.Time
}

// postEvent is cluster_events:broadcast; expired events are deleted as the
// delete_expired_cluster_events trigger does.
func (d *daemon) postEvent(ctx context.Context, channel, data string) {
	_ = d.pool.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM cluster_events WHERE expire_at <= now()`)
		if err == nil {
			_, err = c.Exec(ctx, `INSERT INTO cluster_events (id, node_id, at, expire_at, channel, data)
VALUES (gen_random_uuid(), $1, now(), now() + interval '10 minutes', $2, $3)`, d.nodeID, channel, data)
		}
		if err != nil {
			d.logf("error", "[keyring cluster] cluster event broadcast failure: %s", pgErrText(err))
		}
		return err
	})
}

// registerMsg and broadcastMsg are cluster.lua's register_message and
// broadcast_message.
type registerMsg struct {
	Host   string `json:"host"`
	PKey   string `json:"pkey"`
	KeyIDs any    `json:"key_ids"` // "*" or a list of ids
}

type broadcastMsg struct {
	Host string `json:"host"`
	Keys []struct {
		ID   string `json:"id"`
		Data string `json:"data"`
	} `json:"keys"`
}

func (d *daemon) requestKeys(ctx context.Context, ids any) {
	der, _ := x509.MarshalPKIXPublicKey(&d.kr.node.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	b, _ := json.Marshal(registerMsg{Host: d.nodeID, PKey: pub, KeyIDs: ids})
	d.postEvent(ctx, "keyring_register", string(b))
}

// keyringLoop polls the cluster events every db_update_frequency and asks
// for the keys keyring_meta lists that this node lacks (cluster.lua
// init_worker, request_missing_keys).
func (d *daemon) keyringLoop(ctx context.Context) {
	if d.kr == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.updateFrequency()):
		}
		d.pollKeyring(ctx)
	}
}

func (d *daemon) pollKeyring(ctx context.Context) {
	kr := d.kr
	var evs []clusterEvent
	var meta []struct{ id, state string }
	err := d.pool.with(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id::text, node_id::text, channel, coalesce(data, ''), at FROM cluster_events
WHERE channel LIKE 'keyring_%' AND at >= $1 AND node_id <> $2 ORDER BY at`, kr.since.Add(-2*time.Second), d.nodeID)
		if err != nil {
			return err
		}
		evs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (clusterEvent, error) {
			var e clusterEvent
			err := r.Scan(&e.ID, &e.NodeID, &e.Channel, &e.Data, &e.At)
			return e, err
		})
		if err != nil {
			return err
		}
		rows, err = c.Query(ctx, `SELECT id, state FROM keyring_meta`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				return err
			}
			meta = append(meta, struct{ id, state string }{id, st})
		}
		return rows.Err()
	})
	if err != nil {
		d.logf("error", "[keyring cluster] %s", pgErrText(err))
		return
	}
	activeInDB := ""
	for _, m := range meta {
		if m.state == "active" {
			activeInDB = m.id
		}
	}
	for _, e := range evs {
		if kr.seen[e.ID] {
			continue
		}
		kr.seen[e.ID] = true
		if e.At.After(kr.since) {
			kr.since = e.At
		}
		switch e.Channel {
		case "keyring_register":
			d.answerRegister(ctx, e.Data)
		case "keyring_broadcast":
			d.takeBroadcast(e.Data, activeInDB)
		case "keyring_activate":
			kr.activateLocal(e.Data)
		}
	}
	var missing []string
	for _, m := range meta {
		kr.mu.Lock()
		_, ok := kr.keys[m.id]
		kr.mu.Unlock()
		if !ok {
			missing = append(missing, m.id)
		}
	}
	if len(missing) > 0 {
		d.requestKeys(ctx, missing)
	}
}

// answerRegister is cluster.lua handle_register: send the wanted keys that
// this node holds, each encrypted to the requester's public key.
func (d *daemon) answerRegister(ctx context.Context, data string) {
	var m registerMsg
	if json.Unmarshal([]byte(data), &m) != nil {
		return
	}
	pub, _, err := parseRSA([]byte(m.PKey))
	if err != nil || pub == nil {
		d.logf("error", "[keyring cluster] invalid public key: %v", err)
		return
	}
	ids, _ := d.kr.snapshot()
	if l, ok := m.KeyIDs.([]any); ok {
		ids = ids[:0]
		for _, x := range l {
			if s, ok := x.(string); ok {
				ids = append(ids, s)
			}
		}
	}
	out := broadcastMsg{Host: m.Host}
	for _, id := range ids {
		d.kr.mu.Lock()
		key := d.kr.keys[id]
		d.kr.mu.Unlock()
		if key == nil {
			continue
		}
		c, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
		if err != nil {
			continue
		}
		out.Keys = append(out.Keys, struct {
			ID   string `json:"id"`
			Data string `json:"data"`
		}{id, base64.StdEncoding.EncodeToString(c)})
	}
	if len(out.Keys) > 0 {
		b, _ := json.Marshal(out)
		d.postEvent(ctx, "keyring_broadcast", string(b))
	}
}

// takeBroadcast is cluster.lua handle_broadcast: keys sent to this node,
// then the active id from keyring_meta.
func (d *daemon) takeBroadcast(data, activeInDB string) {
	var m broadcastMsg
	if json.Unmarshal([]byte(data), &m) != nil || m.Host != d.nodeID {
		return
	}
	got := map[string][]byte{}
	for _, k := range m.Keys {
		c, err := base64.StdEncoding.DecodeString(k.Data)
		if err != nil {
			continue
		}
		key, err := rsa.DecryptPKCS1v15(rand.Reader, d.kr.node, c)
		if err == nil {
			got[k.ID] = key
		}
	}
	d.kr.add(got)
	if activeInDB != "" {
		d.kr.activateLocal(activeInDB)
	}
	d.logf("info", "[keyring cluster] received %d keys", len(got))
}
