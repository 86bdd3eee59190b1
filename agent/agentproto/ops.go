package agentproto

import (
	"fmt"
	"strings"
	"time"
)

// SecretHolder is implemented by params that carry secrets; the agent
// redacts every string it returns from them.
type SecretHolder interface {
	Secrets() []string
}

// ---- hello ----

// HelloParams asks for the agent's identity. It has no fields.
type HelloParams struct{}

// HelloResult identifies the agent binary.
type HelloResult struct {
	ProtocolVersion int    `json:"protocol_version"`
	AgentVersion    string `json:"agent_version"`
	SHA256          string `json:"sha256"` // of the agent's own executable
	Path            string `json:"path"`
	GOOS            string `json:"goos"`
	GOARCH          string `json:"goarch"`
	UID             int    `json:"uid"`
	StateDir        string `json:"state_dir"`
}

// ---- facts ----

// FactsParams tunes fact gathering. The zero value uses Kong's defaults.
type FactsParams struct {
	KongBin   string   `json:"kong_bin,omitempty"`   // default: kong in PATH, else /usr/local/bin/kong
	KongConf  string   `json:"kong_conf,omitempty"`  // default: /etc/kong/kong.conf, then /etc/kong.conf
	DiskPaths []string `json:"disk_paths,omitempty"` // extra paths to report free space of
	Prefix    string   `json:"prefix,omitempty"`     // -p the controller passes kong
	// Manager, Unit and EnvFile say where Kong's service environment is
	// read (the agent's effective configuration): Manager "" detects as
	// facts does; EnvFile is the service's environment file on a
	// kong-cli node, read when Kong is not running (and required to exist
	// when named).
	Manager string `json:"manager,omitempty"`
	Unit    string `json:"unit,omitempty"`
	EnvFile string `json:"env_file,omitempty"`
	// KongEnv: see KongEnv (the rehearsal host's facts see the listeners
	// and database the carried environment sets).
	KongEnv KongEnv `json:"kong_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *FactsParams) Secrets() []string { return p.KongEnv.Secrets() }

// Validate checks the params.
func (p *FactsParams) Validate() error { return validateKongEnv(p.KongEnv, p.Manager) }

// validateKongEnv: a carried environment is well formed, and its kong
// runs under the kong CLI (a systemd unit would not see it).
func validateKongEnv(e KongEnv, manager string) error {
	if len(e) == 0 {
		return nil
	}
	if manager == ManagerSystemd {
		return fmt.Errorf("kong_env: a carried environment runs kong under the kong CLI, not systemd")
	}
	return e.Validate()
}

// Facts is what the agent found on the node.
type Facts struct {
	Hostname       string      `json:"hostname"`
	OS             OSInfo      `json:"os"`
	Arch           string      `json:"arch"`            // uname machine, e.g. x86_64, aarch64
	PackageManager string      `json:"package_manager"` // apt, dnf, yum, rpm or ""
	Kong           KongInstall `json:"kong"`
	Service        ServiceInfo `json:"service"`
	Conf           KongConf    `json:"conf"`
	Disk           []DiskFree  `json:"disk"`
	Clock          time.Time   `json:"clock"` // the node's clock when facts were taken
	Warnings       []string    `json:"warnings,omitempty"`
}

// OSInfo is from /etc/os-release.
type OSInfo struct {
	ID         string   `json:"id"`
	IDLike     []string `json:"id_like,omitempty"`
	VersionID  string   `json:"version_id"`
	Codename   string   `json:"codename,omitempty"`
	PrettyName string   `json:"pretty_name"`
}

// Edition of Kong.
const (
	EditionOSS        = "oss"
	EditionEnterprise = "enterprise"
)

// KongInstall is the installed Kong, per the package database and the CLI.
type KongInstall struct {
	Installed      bool   `json:"installed"`
	Package        string `json:"package,omitempty"`         // kong, kong-enterprise-edition...
	PackageVersion string `json:"package_version,omitempty"` // as the package manager has it
	Edition        string `json:"edition,omitempty"`         // oss | enterprise
	Bin            string `json:"bin,omitempty"`
	Version        string `json:"version,omitempty"` // from `kong version`: 3.4.2 or 3.4.3.5
	VersionRaw     string `json:"version_raw,omitempty"`
	Held           bool   `json:"held,omitempty"` // apt-mark hold / versionlock
}

// Service managers.
const (
	ManagerSystemd = "systemd"
	ManagerKongCLI = "kong-cli"
)

// ServiceInfo says how Kong is run and whether it runs.
type ServiceInfo struct {
	Manager string `json:"manager"`        // systemd | kong-cli
	Unit    string `json:"unit,omitempty"` // kong.service or kong-enterprise-edition.service
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	PIDFile string `json:"pid_file,omitempty"`
}

// KongConf is the node's effective configuration: kong.conf with the
// KONG_* environment of Kong's service over it (kong-reference 3.2, 9.2;
// the agent's own environment is never used). pg_password is never
// returned.
type KongConf struct {
	Path          string     `json:"path,omitempty"` // "" when no conf file was found
	Prefix        string     `json:"prefix"`
	Role          string     `json:"role"`
	Plugins       string     `json:"plugins"`
	ProxyListen   string     `json:"proxy_listen"`
	AdminListen   string     `json:"admin_listen"`
	StatusListen  string     `json:"status_listen"`
	DB            DBSettings `json:"db"`
	HasPGPassword bool       `json:"has_pg_password"`
	// DBSources says where each database setting's effective value comes
	// from (database, pg_host, pg_port, pg_user, pg_database, pg_schema,
	// pg_password): "kong.conf <path>", "environment (<where>)" or
	// "default". EnvSource is where the service's environment was read
	// ("systemd unit kong.service", "process 1234", "file <path>"; "" none).
	DBSources map[string]string `json:"db_sources,omitempty"`
	EnvSource string            `json:"env_source,omitempty"`
	// EnvError says why the service's environment could not be read (a
	// unit unreadable, an EnvironmentFile missing): the node's effective
	// configuration is unknown, and preflight refuses it.
	EnvError       string `json:"env_error,omitempty"`
	UnknownEntries int    `json:"unknown_entries,omitempty"`
	// Enterprise RBAC (kong-reference 9.1): enforce_rbac (default off) and
	// the header the token goes in (rbac_auth_header).
	EnforceRBAC    string `json:"enforce_rbac,omitempty"`
	RBACAuthHeader string `json:"rbac_auth_header,omitempty"`
	// Konnect (kong-reference 9.6): konnect_mode and the control plane a
	// data plane connects to.
	KonnectMode         string `json:"konnect_mode,omitempty"`
	ClusterControlPlane string `json:"cluster_control_plane,omitempty"`
	// Keyring is the Enterprise keyring's settings (kong-reference 9.8).
	Keyring KeyringConf `json:"keyring"`
	// Entries are every `key = value` line of the file, in file order,
	// with its line number; the value of a secret key is never sent.
	Entries []ConfEntry `json:"entries,omitempty"`
}

// KeyringConf is the Enterprise keyring's effective settings: whether the
// key settings are set, never their values (paths, or PEM in base64).
type KeyringConf struct {
	Enabled     bool   `json:"enabled,omitempty"`  // keyring_enabled (default off)
	Strategy    string `json:"strategy,omitempty"` // keyring_strategy (default cluster)
	PublicKey   bool   `json:"public_key,omitempty"`
	PrivateKey  bool   `json:"private_key,omitempty"`
	RecoveryKey bool   `json:"recovery_public_key,omitempty"`
}

// ConfEntry is one `key = value` line of kong.conf (key lower-cased).
type ConfEntry struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"` // "" for secret keys (SecretConfKey)
	Line  int    `json:"line"`
}

// SecretConfKey says whether a kong.conf key holds a secret: its value
// never leaves the node (Kong's remove_sensitive list, kong-reference
// 9.2, anything named like a password, token, secret or key, and the
// Enterprise *_conf JSON settings, which carry session secrets and OIDC
// client secrets).
func SecretConfKey(key string) bool {
	switch key {
	case "proxy_server", "declarative_config_string", "license_data":
		return true
	}
	if strings.HasSuffix(key, "_conf") {
		return true
	}
	for _, w := range []string{"password", "secret", "token", "_key", "passphrase", "credential"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

// DBSettings are the database settings from kong.conf.
type DBSettings struct {
	Database string `json:"database"` // postgres | off
	Host     string `json:"pg_host"`
	Port     int    `json:"pg_port"`
	User     string `json:"pg_user"`
	Name     string `json:"pg_database"`
	Schema   string `json:"pg_schema"`
	SSL      bool   `json:"pg_ssl"`
}

// DiskFree is the free space of the file system holding Path.
type DiskFree struct {
	Path       string `json:"path"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
	Err        string `json:"error,omitempty"`
}

// ---- service ----

// ServiceParams drives service.stop and service.start.
type ServiceParams struct {
	Manager string `json:"manager,omitempty"` // systemd | kong-cli; "" = detect as facts does
	Unit    string `json:"unit,omitempty"`
	KongBin string `json:"kong_bin,omitempty"`
	Conf    string `json:"conf,omitempty"`   // kong.conf for start
	Prefix  string `json:"prefix,omitempty"` // default from conf, else /usr/local/kong
	// Version is the Kong version installed; `kong drain` runs first on
	// stop when it is 3.9 or newer. "" = ask `kong version`.
	Version string `json:"version,omitempty"`
	NoDrain bool   `json:"no_drain,omitempty"`
	// GraceTimeout bounds the graceful stop (kong quit -t / systemctl stop)
	// before a forced kill (default 30s).
	GraceTimeout time.Duration `json:"grace_timeout,omitempty"`
	// Ports that must be closed after stop and serving after start
	// (host:port). Default: from the conf's admin/status listen.
	Ports []string `json:"ports,omitempty"`
	// AdminURL and StatusURL are probed after start (default from conf).
	AdminURL  string `json:"admin_url,omitempty"`
	StatusURL string `json:"status_url,omitempty"`
	// StartTimeout bounds the wait for a started Kong to serve (default 60s).
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
	// AdminToken is sent as Kong-Admin-Token on the Admin API probes
	// (Enterprise RBAC). A secret: it travels in the request body only.
	AdminToken string `json:"admin_token,omitempty"`
	// EnvFile: see FactsParams.
	EnvFile string `json:"env_file,omitempty"`
	// KongEnv: see KongEnv.
	KongEnv KongEnv `json:"kong_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ServiceParams) Secrets() []string {
	return append([]string{p.AdminToken}, p.KongEnv.Secrets()...)
}

// Validate checks the params.
func (p *ServiceParams) Validate() error { return validateKongEnv(p.KongEnv, p.Manager) }

// ServiceResult is the state after stop or start.
type ServiceResult struct {
	Manager     string        `json:"manager"`
	Running     bool          `json:"running"`
	WasRunning  bool          `json:"was_running"`
	PID         int           `json:"pid,omitempty"`
	Drained     bool          `json:"drained,omitempty"`
	Forced      bool          `json:"forced,omitempty"` // stop had to kill
	OpenPorts   []string      `json:"open_ports,omitempty"`
	Health      *HealthResult `json:"health,omitempty"` // after start
	Steps       []string      `json:"steps"`            // the commands run, in order
	AlreadyDone bool          `json:"already_done,omitempty"`
}

// HealthParams drives the health op.
type HealthParams struct {
	KongBin   string        `json:"kong_bin,omitempty"`
	Conf      string        `json:"conf,omitempty"`
	Prefix    string        `json:"prefix,omitempty"`
	AdminURL  string        `json:"admin_url,omitempty"`  // default http://<admin_listen>/
	StatusURL string        `json:"status_url,omitempty"` // default http://<status_listen>/status/ready if status_listen is on
	Timeout   time.Duration `json:"timeout,omitempty"`    // per probe, default 5s
	// AdminToken is sent as Kong-Admin-Token on the Admin API probe.
	AdminToken string `json:"admin_token,omitempty"`
	// Manager, Unit, EnvFile: see FactsParams.
	Manager string `json:"manager,omitempty"`
	Unit    string `json:"unit,omitempty"`
	EnvFile string `json:"env_file,omitempty"`
	// KongEnv: see KongEnv.
	KongEnv KongEnv `json:"kong_env,omitempty"`
}

// Secrets implements SecretHolder.
func (p *HealthParams) Secrets() []string {
	return append([]string{p.AdminToken}, p.KongEnv.Secrets()...)
}

// Validate checks the params.
func (p *HealthParams) Validate() error { return validateKongEnv(p.KongEnv, p.Manager) }

// HealthResult is the outcome of `kong health` and the HTTP probes.
type HealthResult struct {
	Healthy bool       `json:"healthy"` // CLI ok and every probe 2xx
	CLI     bool       `json:"cli"`
	CLIOut  string     `json:"cli_out,omitempty"`
	Admin   *HTTPProbe `json:"admin,omitempty"`
	Status  *HTTPProbe `json:"status,omitempty"`
	Version string     `json:"version,omitempty"` // from the Admin API GET /
	Edition string     `json:"edition,omitempty"`
	NodeID  string     `json:"node_id,omitempty"`
}

// HTTPProbe is one HTTP GET.
type HTTPProbe struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"` // first 1 KiB
	Err    string `json:"error,omitempty"`
}
