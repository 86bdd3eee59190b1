package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// The keyring's Admin API calls through the agent (keyring.go), with the
// inventory's admin token (Enterprise RBAC checks /keyring like every
// Admin API route, kong-reference 9.1).

var _ keyringNode = (*agentNode)(nil)

func (n *agentNode) Keyring(ctx context.Context) (KeyringState, error) {
	f, err := n.conf0(ctx)
	if err != nil {
		return KeyringState{}, err
	}
	body, err := n.adminGet(ctx, f, "/keyring")
	if err != nil {
		return KeyringState{}, err
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

func (n *agentNode) KeyringImport(ctx context.Context, export []byte) (KeyringState, error) {
	var v struct {
		Data string `json:"data"`
	}
	if json.Unmarshal(export, &v) != nil || v.Data == "" {
		return KeyringState{}, errors.New("the keyring export holds no data")
	}
	body, err := n.keyringPost(ctx, "/keyring/import", map[string]string{"data": v.Data})
	if err != nil {
		return KeyringState{}, err
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
	url := listenURL(f.Conf.AdminListen, "127.0.0.1:8001") + path
	r, err := n.h.client().HTTPGet(ctx, agentproto.HTTPGetParams{URL: url, Method: http.MethodPost, Form: form, AdminToken: n.token, TokenHeader: f.Conf.RBACAuthHeader})
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
