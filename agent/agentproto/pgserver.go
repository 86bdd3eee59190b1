package agentproto

// ---- db.server_info: what Kong needs of the PostgreSQL server ----

// OpServerInfo reads the server's version and how Kong's user
// authenticates (kong-reference 9.7).
const OpServerInfo Op = "db.server_info"

func init() {
	Ops[OpServerInfo] = OpInfo{func() any { return new(ServerInfoParams) }, func() any { return new(ServerInfoResult) }}
}

// ServerInfoParams names the database and the role Kong connects as
// (KongUser, default the connection's user).
type ServerInfoParams struct {
	DB       DBConn `json:"db"`
	KongUser string `json:"kong_user,omitempty"`
}

// Secrets implements SecretHolder.
func (p *ServerInfoParams) Secrets() []string { return p.DB.Secrets() }

// Validate checks the params.
func (p *ServerInfoParams) Validate() error { return p.DB.Validate() }

// ServerInfoResult is the server's version and the facts that decide the
// Kong user's authentication method. HBARules are nil when
// pg_hba_file_rules could not be read (HBAError says why: it needs a
// superuser or pg_read_server_files); Verifier is the kind of the role's
// stored password ("scram-sha-256", "md5", "plain", "none"), "" when
// pg_authid could not be read. The password itself is never read.
type ServerInfoResult struct {
	VersionNum         int       `json:"version_num"` // server_version_num
	Version            string    `json:"version"`     // server_version
	PasswordEncryption string    `json:"password_encryption"`
	KongUser           string    `json:"kong_user"`
	HBARules           []HBARule `json:"hba_rules,omitempty"`
	HBAError           string    `json:"hba_error,omitempty"`
	Verifier           string    `json:"verifier,omitempty"`
	VerifierError      string    `json:"verifier_error,omitempty"`
}

// HBARule is one pg_hba_file_rules row.
type HBARule struct {
	Line      int      `json:"line"`
	Type      string   `json:"type"`
	Databases []string `json:"databases"`
	Users     []string `json:"users"`
	Address   string   `json:"address,omitempty"`
	Netmask   string   `json:"netmask,omitempty"`
	Method    string   `json:"method"`
	Error     string   `json:"error,omitempty"`
}
