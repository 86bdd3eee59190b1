package labenv

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// kongEnv is the environment of kong-node.sh on a host.
func (l *Lab) kongEnv(h *Host) []string {
	o := l.st.Options
	env := []string{
		"PKG_FILE=" + filepath.Join(l.NodePackagesDir(), PackageFileOf(o.Edition, o.From, o.PackageFormat)),
		"DB_HOST=" + l.DBHost().Address,
		fmt.Sprintf("DB_PORT=%d", l.st.DBPort),
		"DB_USER=" + DBUser,
		"DB_NAME=" + DBName,
	}
	role := "traditional"
	switch {
	case h.Kind == KindDP:
		role = "data_plane"
		env = append(env, "CP_ADDRESS="+l.controlPlaneFor(h).Address+":8005")
	case o.Hybrid:
		role = "control_plane"
	}
	env = append(env, "NODE_ROLE="+role)
	if o.RBAC {
		env = append(env, "ENFORCE_RBAC=on")
	}
	if o.Keyring {
		env = append(env, keyringEnv()...)
	}
	if o.EnvConf {
		env = append(env, "SERVICE_ENV_FILE="+ServiceEnvFile, "DECOY_USER="+DecoyDB, "DECOY_NAME="+DecoyDB)
	}
	if o.Hybrid {
		env = append(env, "CLUSTER_CERT=/etc/kong/cluster.crt", "CLUSTER_CERT_KEY=/etc/kong/cluster.key")
	}
	return env
}

// controlPlaneFor picks the CP a data plane connects to (round robin).
func (l *Lab) controlPlaneFor(dp *Host) *Host {
	var cps, dps []*Host
	for _, h := range l.st.Hosts {
		switch h.Kind {
		case KindKong:
			cps = append(cps, h)
		case KindDP:
			dps = append(dps, h)
		}
	}
	for i, h := range dps {
		if h == dp {
			return cps[i%len(cps)]
		}
	}
	return cps[0]
}

// debToolsHide removes apt and dpkg (and for format %[1]s = rpm, dnf and
// yum) from a node's own view of /usr.
const debToolsHide = `hide="apt apt-get apt-cache apt-mark dpkg dpkg-query dpkg-deb dpkg-divert dpkg-split dpkg-trigger"
[ %[1]s = rpm ] && hide="$hide dnf dnf-3 yum"
for f in $hide; do
	rm -f /usr/bin/$f /usr/sbin/$f
done
for f in $hide; do
	if command -v $f >/dev/null; then echo "$f still visible" >&2; exit 1; fi
done
command -v rpm >/dev/null
[ %[1]s = rpm ] || command -v %[1]s >/dev/null`

// installKong installs the FROM package on a host and writes its kong.conf.
func (l *Lab) installKong(ctx context.Context, h *Host) error {
	env := l.kongEnv(h)
	if f := l.st.Options.PackageFormat; f != "deb" {
		// An RPM host: Debian's package tools vanish from this node's view
		// (whiteouts in its /usr overlay), so the agent finds rpm (and dnf).
		if _, err := execIn(ctx, h, nil, nil, fmt.Sprintf(debToolsHide, f)); err != nil {
			return fmt.Errorf("host %s: hide apt and dpkg: %w", h.Name, err)
		}
	}
	if _, err := execIn(ctx, h, nil, env, l.script("kong-node.sh")+" install"); err != nil {
		return fmt.Errorf("host %s: install kong: %w", h.Name, err)
	}
	if l.st.Options.Repository {
		// The lab's repository is the node's only apt source (the
		// machine's mirrors are out of the lab's reach).
		src := fmt.Sprintf("rm -f /etc/apt/sources.list.d/* && echo %s >/etc/apt/sources.list && apt-get update -qq -o Acquire::Languages=none",
			shellquote.Quote(l.AptSource()))
		if _, err := execIn(ctx, h, nil, nil, src); err != nil {
			return fmt.Errorf("host %s: configure the lab's apt repository: %w", h.Name, err)
		}
	}
	if l.st.Options.Hybrid {
		cp := fmt.Sprintf("install -m 0644 %s /etc/kong/cluster.crt && install -m 0640 %s /etc/kong/cluster.key && "+
			"if getent group kong >/dev/null; then chgrp kong /etc/kong/cluster.key; fi",
			filepath.Join(l.st.Dir, "cluster.crt"), filepath.Join(l.st.Dir, "cluster.key"))
		if _, err := execIn(ctx, h, nil, nil, cp); err != nil {
			return fmt.Errorf("host %s: install cluster certificate: %w", h.Name, err)
		}
	}
	if l.st.Options.Keyring {
		if err := l.installKeyringPair(ctx, h); err != nil {
			return err
		}
	}
	pw, err := l.DBPassword()
	if err != nil {
		return err
	}
	stdin := pw + "\n"
	if l.st.Options.EnvConf {
		// The real password goes to the service's environment file, the
		// decoy's to kong.conf.
		decoy, err := l.decoyPassword()
		if err != nil {
			return err
		}
		stdin += decoy + "\n"
	}
	if _, err := execIn(ctx, h, strings.NewReader(stdin), env, l.script("kong-node.sh")+" configure"); err != nil {
		return fmt.Errorf("host %s: configure kong: %w", h.Name, err)
	}
	return nil
}

// StartKong starts Kong on a host (kong start -c /etc/kong/kong.conf) and
// waits for `kong health`.
func (l *Lab) StartKong(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if _, err := execIn(ctx, h, nil, l.kongEnv(h), l.script("kong-node.sh")+" start"); err != nil {
		return fmt.Errorf("host %s: start kong: %w", h.Name, err)
	}
	return nil
}

// bootstrap runs `kong migrations bootstrap` once, from the first Kong
// host; on an RBAC lab with KONG_PASSWORD (fed on stdin, never in argv)
// so that Kong seeds the super admin.
func (l *Lab) bootstrap(ctx context.Context) error {
	h := l.KongHosts()[0]
	stdin, env, err := l.adminTokenStdin(l.kongEnv(h))
	if err != nil {
		return err
	}
	if _, err := execIn(ctx, h, stdin, env, l.script("kong-node.sh")+" bootstrap"); err != nil {
		return fmt.Errorf("host %s: bootstrap database: %w", h.Name, err)
	}
	if l.st.Options.EnvConf {
		// The decoy gets a Kong schema too, so that a command run on
		// kong.conf alone "works" on it silently.
		if _, err := execIn(ctx, h, nil, l.kongEnv(h), l.script("kong-node.sh")+" bootstrap-decoy"); err != nil {
			return fmt.Errorf("host %s: bootstrap the decoy database: %w", h.Name, err)
		}
	}
	return nil
}

// seed creates the lab's services and routes through the first node's Admin
// API (from inside the node, so it works behind a bastion too).
func (l *Lab) seed(ctx context.Context) error {
	h := l.KongHosts()[0]
	var err error
	for i := 0; i < 20; i++ {
		stdin, env, terr := l.adminTokenStdin(nil)
		if terr != nil {
			return terr
		}
		if _, err = execIn(ctx, h, stdin, env, l.script("seed.sh")); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("host %s: seed services and routes: %w", h.Name, err)
}

// adminTokenStdin is what a provisioning script reads the RBAC lab's
// admin token from: stdin (ADMIN_TOKEN_STDIN=1 added to env), never argv
// or the environment of Kong. Without RBAC: no stdin, env unchanged.
func (l *Lab) adminTokenStdin(env []string) (io.Reader, []string, error) {
	tok, err := l.AdminToken()
	if err != nil || tok == "" {
		return nil, env, err
	}
	return strings.NewReader(tok + "\n"), append(append([]string(nil), env...), "ADMIN_TOKEN_STDIN=1"), nil
}

func (l *Lab) script(name string) string {
	return "/bin/sh " + filepath.Join(l.st.Dir, "provision", name)
}

// waitRouted waits until the host's proxy answers the smoke path with 200
// (Kong picks up new routes within db_update_frequency, or from its CP).
func (l *Lab) waitRouted(ctx context.Context, h *Host) error {
	const probe = `curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/lab`
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := execIn(ctx, h, nil, nil, probe)
		if err == nil && strings.TrimSpace(out) == "200" {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("host %s: proxy does not route /lab after 30s (last: %q %v)", h.Name, out, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
