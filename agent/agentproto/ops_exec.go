package agentproto

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// ---- exec / hooks ----

// ExecParams runs an operator command (a hook) with /bin/sh -c.
type ExecParams struct {
	Command string            `json:"command"`
	Dir     string            `json:"dir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// SecretEnv is added to the child's environment and redacted.
	SecretEnv map[string]string `json:"secret_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ExecParams) Secrets() []string {
	var s []string
	for _, v := range p.SecretEnv {
		s = append(s, v)
	}
	return s
}

// Validate checks the params.
func (p *ExecParams) Validate() error {
	if p.Command == "" {
		return errors.New("command missing")
	}
	return nil
}

// ExecResult is a finished command. A non-zero exit is not an op error;
// its tails are in the Reply and repeated here.
type ExecResult struct {
	ExitCode   int    `json:"exit_code"`
	StdoutTail string `json:"stdout_tail,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
}

// ---- detached steps ----

// Step states.
const (
	StepRunning = "running"
	StepDone    = "done"
	StepLost    = "lost" // its runner died without recording a reply
	StepUnknown = "unknown"
)

// StepStatus is the result of a Detach request: the step's state at once.
type StepStatus struct {
	StepID    string    `json:"step_id"`
	Op        Op        `json:"op"`
	State     string    `json:"state"`
	Started   bool      `json:"started"` // this request started it (false: it existed)
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// AttachParams waits for a detached step.
type AttachParams struct {
	StepID string        `json:"step_id"`
	Wait   time.Duration `json:"wait,omitempty"` // 0 = do not wait
}

// Validate checks the params.
func (p *AttachParams) Validate() error {
	if !ValidStepID(p.StepID) {
		return fmt.Errorf("invalid step_id %q", p.StepID)
	}
	return nil
}

// AttachResult is the step's state; Reply is its recorded reply once done.
// An unknown StepID is an error of code CodeNotFound.
type AttachResult struct {
	Status StepStatus `json:"status"`
	Reply  *Reply     `json:"reply,omitempty"`
}

// ---- HTTP on the node ----

// MaxHTTPBody bounds the body http.get returns. A larger body is an error,
// never cut short: a /metrics page read in part would hide counters from
// the gates.
const MaxHTTPBody = 8 << 20

// HTTPGetParams asks for one GET from the node itself, to Kong's own
// listeners: /metrics and /clustering/data-planes on the Admin API, a smoke
// request through the proxy. Like `curl -sk`: no proxy from the
// environment, no redirect followed, the certificate not verified (Kong's
// listeners carry its self-signed one).
type HTTPGetParams struct {
	URL     string        `json:"url"`
	Host    string        `json:"host,omitempty"`    // the Host header
	Timeout time.Duration `json:"timeout,omitempty"` // the whole exchange; default 10s
	Discard bool          `json:"discard,omitempty"` // read the body, return only its size
	// AdminToken, when set, is sent in TokenHeader (default
	// Kong-Admin-Token): an Admin API read on an Enterprise node with RBAC
	// enforced.
	AdminToken  string `json:"admin_token,omitempty"`
	TokenHeader string `json:"token_header,omitempty"`
	// Method is GET ("") or POST; a POST sends Form urlencoded (the
	// Enterprise keyring's /keyring/export and /keyring/import). The form
	// may hold key material: it counts as a secret.
	Method string            `json:"method,omitempty"`
	Form   map[string]string `json:"form,omitempty"`
}

// Secrets implements SecretHolder.
func (p *HTTPGetParams) Secrets() []string {
	out := []string{p.AdminToken}
	for _, v := range p.Form {
		out = append(out, v)
	}
	return out
}

// DefaultTokenHeader is the header of an Admin API token when
// rbac_auth_header is not set (kong-reference 9.1).
const DefaultTokenHeader = "Kong-Admin-Token"

// Validate checks the params.
func (p *HTTPGetParams) Validate() error {
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http(s)://host[:port]/path", p.URL)
	}
	if p.Timeout < 0 {
		return errors.New("negative timeout")
	}
	if p.Method != "" && p.Method != "GET" && p.Method != "POST" {
		return fmt.Errorf("method %q: want GET or POST", p.Method)
	}
	return nil
}

// HTTPGetResult is the answer to an http.get: any status is a result, not
// an error; a connection or read failure is an error.
type HTTPGetResult struct {
	Status  int           `json:"status"`
	Body    string        `json:"body,omitempty"` // the whole body, unless discarded
	Bytes   int64         `json:"bytes"`          // the body's size
	Latency time.Duration `json:"latency"`        // request sent to body read
}
