package agentproto

// ConfCheckParams asks for Y's own checks of the node's kong.conf: the
// staged package PackagePath (in the agent's packages directory) is
// extracted into a scratch directory, not installed, and its `kong check
// <Conf>` and `kong prepare -p <scratch prefix> -c <Conf>` run there; X
// stays installed and serving, and its prefix and .kong_env are never
// touched. The scratch directory is removed afterwards.
//
// Y's kong runs on the node's effective configuration: kong.conf with the
// service's KONG_* environment (Manager, Unit, EnvFile, Prefix: see
// FactsParams) in its environment, never in argv.
type ConfCheckParams struct {
	PackagePath string `json:"package_path"`
	Conf        string `json:"conf,omitempty"` // "" = the unit's -c, else /etc/kong/kong.conf
	Prefix      string `json:"prefix,omitempty"`
	Manager     string `json:"manager,omitempty"`
	Unit        string `json:"unit,omitempty"`
	EnvFile     string `json:"env_file,omitempty"`
}

// ConfCheckResult is what Y's kong said.
type ConfCheckResult struct {
	Version string `json:"version"` // Y's `kong version`, first line
	Conf    string `json:"conf"`    // the configuration file checked
	// Check and Prepare are the two commands' exit codes and stderr
	// (clipped to TailBytes).
	CheckExit     int    `json:"check_exit"`
	CheckStderr   string `json:"check_stderr,omitempty"`
	PrepareExit   int    `json:"prepare_exit"`
	PrepareStderr string `json:"prepare_stderr,omitempty"`
}
