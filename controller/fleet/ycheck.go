package fleet

import "context"

// YConfCheck is what the staged Y's own kong said about a node's
// kong.conf (agent op kong.conf_check): exit codes and stderr of `kong
// check <conf>` and `kong prepare -p <scratch> -c <conf>`.
type YConfCheck struct {
	Version       string
	Conf          string
	CheckExit     int
	CheckStderr   string
	PrepareExit   int
	PrepareStderr string
}

// YConfChecker is implemented by nodes that can run the staged Y
// package's checks without installing it (the agent's nodes).
type YConfChecker interface {
	CheckConfWithY(ctx context.Context, y PackageRef) (YConfCheck, error)
}
