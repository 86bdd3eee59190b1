// Package provision holds the shell scripts that provision a lab host: the
// database (db.sh), a Kong node (kong-node.sh), an operator account with sudo
// (ssh-user.sh) and the lab's Kong entities (seed.sh). The lab (lab/labenv) runs
// them inside its namespaces; the Vagrant VMs run the same files over SSH.
package provision

import "embed"

// Scripts holds every *.sh file of this folder.
//
//go:embed *.sh
var Scripts embed.FS
