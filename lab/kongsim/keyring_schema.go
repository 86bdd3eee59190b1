package kongsim

import "strings"

// The tables the keyring uses (keyring.go), added to the migrations that
// create them in Kong:
//   - cluster_events: core/000_base (Kong's core/000_base.lua L11-19 and its
//     delete_expired_cluster_events trigger, which postEvent does instead);
//   - keyring_meta: EE enterprise/000_base.lua L598-602, with updated_at
//     from enterprise/017_3200_to_3300; the simulator's first enterprise
//     migration is 006_1301_to_1500;
//   - keyring_keys: EE enterprise/014_2800_to_3000.lua L19-25, the
//     simulator's 018_2800_to_3000.
func init() {
	appendSQL("core/000_base", `
CREATE TABLE IF NOT EXISTS cluster_events (
  id uuid PRIMARY KEY, node_id uuid NOT NULL, at timestamptz NOT NULL,
  nbf timestamptz, expire_at timestamptz NOT NULL, channel text, data text);
CREATE INDEX IF NOT EXISTS cluster_events_at_idx ON cluster_events (at);
CREATE INDEX IF NOT EXISTS cluster_events_channel_idx ON cluster_events (channel);
`)
	appendSQL("enterprise/018_2800_to_3000", `
CREATE TABLE IF NOT EXISTS keyring_keys (
  id text PRIMARY KEY, recovery_key_id text NOT NULL, key_encrypted text NOT NULL,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
`)
	appendSQL("enterprise/006_1301_to_1500", `
CREATE TABLE IF NOT EXISTS keyring_meta (
  id text PRIMARY KEY, state text NOT NULL, created_at timestamptz NOT NULL,
  updated_at timestamptz DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'));
`)
}

// appendSQL adds statements to a migration's up.
func appendSQL(name, up string) {
	m := migrationSQL[name]
	m.up = strings.TrimRight(m.up, "\n") + "\n" + up
	migrationSQL[name] = m
}
