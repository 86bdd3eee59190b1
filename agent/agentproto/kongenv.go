package agentproto

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// KongEnv is KONG_* configuration the controller hands a node's kong
// commands over the node's own service environment (which it wins over):
// the rehearsal host runs Y with the migration node's effective
// environment, its database pointed at the scratch copy (issue 23). It
// travels in the request body only, on the agent's stdin, never in argv
// or a file; the agent gives it to kong in the child's environment, and
// the values of its secret keys are redacted from the reply. A request
// carrying one runs kong under the kong CLI: a systemd unit would not see
// it.
type KongEnv map[string]string

// kongEnvKey is a KONG_* variable name.
var kongEnvKey = regexp.MustCompile(`^KONG_[A-Z0-9_]+$`)

// MinSecretLen is the shortest secret value redacted from a reply: a
// shorter one (a test's pg_password = kong) would also match JSON keys
// and ordinary words, and replacing it would corrupt the reply.
const MinSecretLen = 6

// Validate checks the names (KONG_ and upper-case letters, digits, _) and
// that no value holds a NUL or a newline.
func (e KongEnv) Validate() error {
	for k, v := range e {
		if !kongEnvKey.MatchString(k) {
			return fmt.Errorf("kong_env: %q is not a KONG_* variable name", k)
		}
		if strings.ContainsAny(v, "\x00\n") {
			return fmt.Errorf("kong_env: %s holds a NUL or a newline", k)
		}
	}
	return nil
}

// Secrets are the values of its secret keys (SecretConfKey) of at least
// MinSecretLen bytes.
func (e KongEnv) Secrets() []string {
	var out []string
	for k, v := range e {
		if len(v) >= MinSecretLen && SecretConfKey(strings.ToLower(strings.TrimPrefix(k, "KONG_"))) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// Names are its variable names, sorted (what may be shown of it).
func (e KongEnv) Names() []string {
	out := make([]string, 0, len(e))
	for k := range e {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- service.env: a node's service environment, for the rehearsal ----

// OpServiceEnv reads the KONG_* environment of the node's Kong service
// (its systemd unit's Environment= and EnvironmentFile= files, or the
// running process's, or the inventory's service_env_file: as facts reads
// it), secret values included: the one reply that carries them, for the
// controller to hand on, in memory, to the rehearsal host's requests as a
// KongEnv. The op keeps no output tails (they would hold the values).
const OpServiceEnv Op = "service.env"

func init() {
	Ops[OpServiceEnv] = OpInfo{func() any { return new(ServiceEnvParams) }, func() any { return new(ServiceEnvResult) }}
}

// ServiceEnvParams says where the service's environment is read: see
// FactsParams.
type ServiceEnvParams struct {
	KongConf string `json:"kong_conf,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Manager  string `json:"manager,omitempty"`
	Unit     string `json:"unit,omitempty"`
	EnvFile  string `json:"env_file,omitempty"`
}

// ServiceEnvResult is the service's KONG_* environment: Source where it
// was read ("" none), Vars its variables with their values, From where
// each was set ("unit <path>", "file <path>", "process <pid>").
type ServiceEnvResult struct {
	Source string            `json:"source,omitempty"`
	Vars   KongEnv           `json:"vars,omitempty"`
	From   map[string]string `json:"from,omitempty"`
}
