package sshfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The keyring's Admin API calls through the agent (keyring.go), with the
// inventory's admin token (Enterprise RBAC checks /keyring like every
// Admin API route, kong-reference 9.1).

var _ fleet.KeyringNode = (*agentNode)(nil)

func (n *agentNode) Keyring(ctx context.Context) (fleet.KeyringState, error) {
	body, err := n.adminGet(ctx, "/keyring")
	if err != nil {
		return fleet.KeyringState{}, err
	}
	return parseKeyring(body)
}

func (n *agentNode) KeyringExport(ctx context.Context) ([]byte, error) {
	body, err := n.keyringPost(ctx, "/keyring/export", nil)
	if err != nil {
		return nil, err
	}
	var v struct {
		Data string `json:"data"`
	}
	if json.Unmarshal([]byte(body), &v) != nil || v.Data == "" {
		return nil, fmt.Errorf("host %s: POST /keyring/export: no data in the answer", n.h.name)
	}
	return []byte(body), nil
}

func (n *agentNode) KeyringImport(ctx context.Context, export []byte) (fleet.KeyringState, error) {
	var v struct {
		Data string `json:"data"`
	}
	if json.Unmarshal(export, &v) != nil || v.Data == "" {
		return fleet.KeyringState{}, errors.New("the keyring export holds no data")
	}
	body, err := n.keyringPost(ctx, "/keyring/import", map[string]string{"data": v.Data})
	if err != nil {
		return fleet.KeyringState{}, err
	}
	return parseKeyring(body)
}

// keyringPost POSTs a form to the node's Admin API; any status but 200 is
// an error carrying Kong's {"error": ...} (never the form: the agent
// redacts it).
func (n *agentNode) keyringPost(ctx context.Context, path string, form map[string]string) (string, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return "", err
	}
	p := n.adminRequest(f, path)
	p.Method, p.Form = http.MethodPost, form
	r, err := n.h.client().HTTPGet(ctx, p)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal([]byte(r.Body), &e)
		return "", fmt.Errorf("host %s: POST %s: HTTP %d %s%s", n.h.name, path, r.Status, e.Error, e.Message)
	}
	return r.Body, nil
}

// parseKeyring reads GET /keyring's and /keyring/import's body. Kong's
// cjson encodes an empty ids table as {} and leaves out a nil active.
func parseKeyring(body string) (fleet.KeyringState, error) {
	var v struct {
		IDs    json.RawMessage `json:"ids"`
		Active string          `json:"active"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return fleet.KeyringState{}, errors.New("keyring: not JSON")
	}
	st := fleet.KeyringState{Active: v.Active}
	if len(v.IDs) > 0 && v.IDs[0] == '[' {
		if err := json.Unmarshal(v.IDs, &st.IDs); err != nil {
			return fleet.KeyringState{}, fmt.Errorf("keyring ids: %w", err)
		}
	}
	slices.Sort(st.IDs)
	return st, nil
}
