package labenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// setupBridge creates the lab's bridge on the machine (klbr0 with
// 198.18.0.1/19 for lab 0, klb<k>o with 198.18.(32k).1/19 for lab k).
func setupBridge(ctx context.Context, n Network) error {
	if err := ip(ctx, "link", "add", n.Bridge, "type", "bridge"); err != nil {
		return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
	}
	if err := ip(ctx, "addr", "add", fmt.Sprintf("%s/%d", n.BridgeAddr, NetPrefix), "dev", n.Bridge); err != nil {
		return fmt.Errorf("address bridge %s: %w", n.Bridge, err)
	}
	if err := ip(ctx, "link", "set", n.Bridge, "up"); err != nil {
		return fmt.Errorf("bring bridge %s up: %w", n.Bridge, err)
	}
	return nil
}

// setupNetwork creates the host's netns and its veth pair, and addresses it.
// Behind a bastion the host-side end goes to the bastion's inner bridge.
func setupNetwork(ctx context.Context, h *Host, n Network) error {
	wrap := func(op string, err error) error { return fmt.Errorf("host %s: %s: %w", h.Name, op, err) }
	unlock, err := lockNetns()
	if err != nil {
		return wrap("create netns", err)
	}
	err = ip(ctx, "netns", "add", h.Netns)
	unlock()
	if err != nil {
		return wrap("create netns", err)
	}
	h.NetNS = fileInode("/run/netns/" + h.Netns)
	add := []string{"link", "add", h.Veth}
	if h.VethNetns != "" {
		add = append(add, "netns", h.VethNetns)
	}
	add = append(add, "type", "veth", "peer", "name", "eth0", "netns", h.Netns)
	if err := ip(ctx, add...); err != nil {
		return wrap("create veth", err)
	}
	bridge, hostSide := n.Bridge, []string{}
	if h.VethNetns != "" {
		bridge, hostSide = n.InnerBridge, []string{"-n", h.VethNetns}
	}
	if err := ip(ctx, append(hostSide, "link", "set", h.Veth, "master", bridge, "up")...); err != nil {
		return wrap("attach veth", err)
	}
	if err := ip(ctx, "-n", h.Netns, "addr", "add", fmt.Sprintf("%s/%d", h.Address, NetPrefix), "dev", "eth0"); err != nil {
		return wrap("address eth0", err)
	}
	for _, l := range []string{"lo", "eth0"} {
		if err := ip(ctx, "-n", h.Netns, "link", "set", l, "up"); err != nil {
			return wrap("bring "+l+" up", err)
		}
	}
	if h.Kind == KindBastion {
		// The inner network lives inside the bastion's namespace: the machine
		// has no interface on it and no route to it.
		for _, args := range [][]string{
			{"-n", h.Netns, "link", "add", n.InnerBridge, "type", "bridge"},
			{"-n", h.Netns, "addr", "add", fmt.Sprintf("%s/%d", n.InnerGW, NetPrefix), "dev", n.InnerBridge},
			{"-n", h.Netns, "link", "set", n.InnerBridge, "up"},
		} {
			if err := ip(ctx, args...); err != nil {
				return wrap("inner bridge", err)
			}
		}
	}
	return nil
}

// setupScript is run by the host's holder inside fresh mount, UTS and IPC
// namespaces (and the host's netns): it builds the host's private view of the
// file system, then becomes `sleep infinity`, which keeps the namespaces alive.
const setupScript = `set -eu
H=%[1]s
for d in etc usr var home opt srv; do
	[ -d /$d ] || continue
	mkdir -p "$H/ov/$d.u" "$H/ov/$d.w"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$H/ov/$d.u,workdir=$H/ov/$d.w" /$d
done
mount -t tmpfs -o size=512m,mode=1777 kl-tmp /tmp
mount -t tmpfs -o size=64m,mode=0755 kl-run /run
# A clean home for root, as on a fresh VM (not the machine's dotfiles).
mount -t tmpfs -o size=64m,mode=0700 kl-root /root
cp -a /etc/skel/. /root/ 2>/dev/null || true
mkdir -p /run/sshd /run/lock
chmod 1777 /run/lock
if [ "%[3]s" = node ]; then
	# The node's "disk": package files and the Kong prefix live here, so a
	# full disk is a real ENOSPC.
	mount -t tmpfs -o size=%[4]dm,mode=0755 kl-disk /usr/local
	mkdir -p /usr/local/bin /usr/local/sbin /usr/local/lib /usr/local/share /usr/local/include /usr/local/etc /usr/local/src /usr/local/games /usr/local/man
	mkdir -p /var/lib/kongctl
	# kongctl's agent, steps and staged packages: room for the 512 MiB
	# kongctl asks for when a package's size is unknown (repository).
	mount -t tmpfs -o size=1024m,mode=0700 kl-state /var/lib/kongctl
fi
if [ "%[3]s" = database ]; then
	mkdir -p /var/backups
	mount -t tmpfs -o size=%[4]dm,mode=0755 kl-backups /var/backups
fi
hostname %[2]s
echo %[2]s >/etc/hostname
cat >/etc/hosts <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	%[2]s
%[5]sHOSTS
# sshd runs without PAM: an account whose password starts with "!" is locked.
if grep -q '^root:!' /etc/shadow 2>/dev/null; then usermod -p '*' root; fi
echo ready
exec sleep infinity
`

// startHolder builds the host's namespaces and returns once its mounts are in
// place.
func startHolder(ctx context.Context, h *Host, o Options, hostsFile string) error {
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	kind := "node"
	switch h.Kind {
	case KindDatabase:
		kind = "database"
	case KindBastion:
		kind = "bastion"
	}
	script := fmt.Sprintf(setupScript, h.Dir, h.Name, kind, o.DiskMB, hostsFile)
	path := filepath.Join(h.Dir, "setup.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	logf, err := os.OpenFile(filepath.Join(h.Dir, "setup.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	defer pr.Close()
	cmd := exec.Command("ip", "netns", "exec", h.Netns,
		"unshare", "--mount", "--uts", "--ipc", "--propagation", "private", "/bin/sh", path)
	cmd.Env = nodeEnv
	cmd.Dir = "/"
	cmd.Stdout = pw
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("host %s: start namespaces: %w", h.Name, err)
	}
	pw.Close()
	go cmd.Wait() // reap it if it dies while we run

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			b, _ := os.ReadFile(filepath.Join(h.Dir, "setup.log"))
			why := lastLines(string(b), exitedLines)
			if why == "" {
				why = fmt.Sprintf("the namespace holder said %q and wrote nothing to %s", strings.TrimSpace(s), filepath.Join(h.Dir, "setup.log"))
			}
			return fmt.Errorf("host %s: set up namespaces: %s", h.Name, why)
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		return fmt.Errorf("host %s: set up namespaces: %w", h.Name, ctx.Err())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("host %s: set up namespaces: timed out", h.Name)
	}
	h.HolderPID = cmd.Process.Pid
	h.MntNS = nsInode(h.HolderPID, "mnt")
	return nil
}

// sshdConfig is the host's sshd configuration.
const sshdConfig = `# kongctl lab host %[1]s
Port 22
ListenAddress 0.0.0.0
HostKey %[2]s/ssh_host_ed25519_key
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile %[3]s/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
MaxStartups 200:30:400
MaxSessions 100
AllowTcpForwarding yes
Subsystem sftp internal-sftp
LogLevel INFO
`

// writeSSHDConfig writes the host key and sshd_config of a host.
func writeSSHDConfig(h *Host, labDir string) error {
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	key, err := writeSSHKey(filepath.Join(h.Dir, "ssh_host_ed25519_key"), "root@"+h.Name)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	h.HostKey = key
	cfg := fmt.Sprintf(sshdConfig, h.Name, h.Dir, labDir)
	if err := os.WriteFile(filepath.Join(h.Dir, "sshd_config"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// startSSHD starts the host's sshd inside its namespaces and waits until it
// listens.
func startSSHD(ctx context.Context, h *Host) error {
	logPath := filepath.Join(h.Dir, "sshd.log")
	var offset int64
	if fi, err := os.Stat(logPath); err == nil {
		offset = fi.Size()
	}
	args := append(nsenterArgs(h.HolderPID), "/usr/sbin/sshd", "-D", "-f", filepath.Join(h.Dir, "sshd_config"), "-E", logPath)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = nodeEnv
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Its own stderr (nsenter's, or sshd's before it opens its log) goes
	// to a file, not a pipe: sshd outlives this process.
	stderrPath := filepath.Join(h.Dir, "sshd.stderr")
	stderr, err := os.Create(stderrPath)
	if err != nil {
		return fmt.Errorf("host %s: start sshd: %w", h.Name, err)
	}
	cmd.Stderr = stderr
	err = cmd.Start()
	stderr.Close()
	if err != nil {
		return fmt.Errorf("host %s: start sshd: %w", h.Name, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(logPath); err == nil && int64(len(b)) >= offset {
			tail := string(b[offset:])
			if strings.Contains(tail, "Server listening on 0.0.0.0 port 22") {
				h.SSHDPID = cmd.Process.Pid
				return nil
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			se, _ := os.ReadFile(stderrPath)
			return exitedError(h.Name, "sshd", waitErr, string(se), string(b[min(int(offset), len(b)):]))
		case <-ctx.Done():
			cmd.Process.Kill()
			return fmt.Errorf("host %s: start sshd: %w", h.Name, ctx.Err())
		case <-deadline:
			cmd.Process.Kill()
			return fmt.Errorf("host %s: start sshd: not listening after 20s", h.Name)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sshdRunning reports whether the host's recorded sshd is alive.
func sshdRunning(h *Host) bool { return aliveIn(h.SSHDPID, h.MntNS) }
