package labenv

import (
	"path/filepath"
	"strconv"
)

// BaselineScript is the outage benchmark's plain in-place playbook
// (issue 15), relative to the repository root.
const BaselineScript = "lab/baseline/inplace.sh"

// BaselineArgs are the arguments of BaselineScript that upgrade this lab to
// its target version the way an operator's playbook would: the lab's key,
// known_hosts and SSH user, the database host, the target's package, and
// the Kong nodes' addresses (the first runs the migrations).
func (l *Lab) BaselineArgs() []string {
	o := l.Options()
	args := []string{"-i", l.KeyPath(), "-k", l.KnownHostsPath(), "-u", o.User,
		"-d", l.DBHost().Address, "-P", strconv.Itoa(l.st.DBPort), "-n", DBName,
		"-p", filepath.Join(o.PackagesDir, PackageFileOf(o.Edition, o.To, o.PackageFormat))}
	for _, h := range l.KongHosts() {
		args = append(args, h.Address)
	}
	return args
}
