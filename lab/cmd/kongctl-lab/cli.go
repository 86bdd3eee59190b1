package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

const usage = `usage: kongctl-lab COMMAND [flags]

commands:
  up      bring the lab up (reused when one with the same options is up)
  down    remove every trace of the lab, also after a crash
  status  print the lab's hosts
  fault   FAULT HOST   inject or undo a fault:
            kill-sshd, start-sshd, kill-kong, start-kong, cut, restore,
            fill-disk, free-disk, heal, stop-db, start-db (HOST ignored for *-db)
  ssh     HOST [COMMAND...]   ssh to a host with the lab's key and known_hosts

common flags:
  --id K    lab ID 0..7 (default $KONGCTL_LAB_ID, else 0); labs with different
            IDs run side by side (own names, bridges, 198.18.(32K).0/19)
  --dir DIR lab dir (default <repo>/build/lab for ID 0, build/lab<K> for K > 0)
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "up":
		err = runUp(ctx, rest, stdout, stderr)
	case "down":
		err = runDown(ctx, rest, stderr)
	case "status":
		err = runStatus(rest, stdout)
	case "fault":
		err = runFault(ctx, rest, stdout)
	case "ssh":
		return runSSH(ctx, rest, stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "kongctl-lab: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "kongctl-lab %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(stderr, "kongctl-lab %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ error }

type upArgs struct {
	opts labenv.Options
}

// parseUpArgs parses `up` flags. Empty strings and zeros mean "default", so
// make can pass every variable through.
func parseUpArgs(args []string) (upArgs, error) {
	var a upArgs
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.String("id", "", "lab ID 0..7")
	fs.StringVar(&a.opts.Dir, "dir", "", "lab dir")
	fs.StringVar(&a.opts.PackagesDir, "packages", "", "packages dir")
	fs.IntVar(&a.opts.Nodes, "nodes", 0, "Kong hosts (1..64)")
	fs.StringVar(&a.opts.From, "from", "", "installed version")
	fs.StringVar(&a.opts.To, "to", "", "upgrade target in the inventory")
	fs.StringVar(&a.opts.Edition, "edition", "", "oss | enterprise")
	fs.StringVar(&a.opts.PackageFormat, "package-format", "", "deb | rpm | dnf (nodes without apt and dpkg)")
	bastion := fs.String("bastion", "", "1: nodes behind a bastion")
	hybrid := fs.String("hybrid", "", "1: control planes + data planes")
	rbac := fs.String("rbac", "", "1: Enterprise with RBAC enforced (super-admin token in <dir>/admin-token)")
	keyring := fs.String("keyring", "", "1: Enterprise keyring on (cluster strategy), its RSA pair in <dir>/keyring-{key,cert}.pem")
	lb := fs.String("lb", "", "1: Debian's HAProxy on host lb in front of the Kong proxies (runtime API over SSH there)")
	db2 := fs.String("db2", "", "1: a second PostgreSQL server on the db host (port 5433, role kong_y, its password in <dir>/pg2_password): a dual-cluster target on another server")
	envconf := fs.String("envconf", "", "1: database settings only in the service's environment file; kong.conf points at a decoy database")
	fs.StringVar(&a.opts.User, "user", "", "SSH user (default root)")
	fs.IntVar(&a.opts.DPs, "dps", 0, "data planes (hybrid)")
	fs.IntVar(&a.opts.Spares, "spares", 0, "spare hosts without Kong")
	fs.IntVar(&a.opts.DiskMB, "disk-mb", 0, "size of each node's /usr/local")
	fs.IntVar(&a.opts.Concurrency, "concurrency", 0, "hosts set up at once")
	fs.BoolVar(&a.opts.Repository, "repository", false, "serve the packages as the nodes' apt repository")
	noSeed := fs.Bool("no-seed", false, "create no services or routes")
	fs.IntVar(&a.opts.Rows, "rows", 0, "a production-sized database: that many consumers, each with a plugin row")
	if err := fs.Parse(args); err != nil {
		return a, usageError{err}
	}
	if fs.NArg() > 0 {
		return a, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var err error
	if a.opts.ID, _, err = resolveID(*id); err != nil {
		return a, err
	}
	if a.opts.Bastion, err = parseBool("bastion", *bastion); err != nil {
		return a, err
	}
	if a.opts.Hybrid, err = parseBool("hybrid", *hybrid); err != nil {
		return a, err
	}
	if a.opts.RBAC, err = parseBool("rbac", *rbac); err != nil {
		return a, err
	}
	if a.opts.Keyring, err = parseBool("keyring", *keyring); err != nil {
		return a, err
	}
	if a.opts.EnvConf, err = parseBool("envconf", *envconf); err != nil {
		return a, err
	}
	if a.opts.LB, err = parseBool("lb", *lb); err != nil {
		return a, err
	}
	if a.opts.DB2, err = parseBool("db2", *db2); err != nil {
		return a, err
	}
	a.opts.NoSeed = *noSeed
	return a, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, usageError{fmt.Errorf("--%s=%q: want 1 or 0", name, v)}
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseUpArgs(args)
	if err != nil {
		return err
	}
	a.opts.Log = stderr
	start := time.Now()
	l, err := labenv.Up(ctx, a.opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "lab: ready after %.1fs\n", time.Since(start).Seconds())
	renderStatus(stdout, l)
	return nil
}

// resolveID turns --id into a lab ID: the flag, else $KONGCTL_LAB_ID, else
// 0. given reports whether the flag or the environment named one.
func resolveID(flagValue string) (id int, given bool, err error) {
	if flagValue == "" {
		if os.Getenv(labenv.EnvID) == "" {
			return 0, false, nil
		}
		id, err := labenv.DefaultID()
		return id, true, err
	}
	id, err = strconv.Atoi(flagValue)
	if err != nil || id < 0 || id > labenv.MaxID {
		return 0, false, usageError{fmt.Errorf("--id=%q: want a lab ID 0..%d", flagValue, labenv.MaxID)}
	}
	return id, true, nil
}

// labRef names a lab: an ID (flag or environment) and/or a dir.
type labRef struct {
	id    int
	given bool // an ID was named; else the dir's (or lab 0)
	dir   string
}

func labFlags(name string, args []string) (labRef, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.String("id", "", "lab ID 0..7")
	dir := fs.String("dir", "", "lab dir")
	if err := fs.Parse(args); err != nil {
		return labRef{}, nil, usageError{err}
	}
	r := labRef{dir: *dir}
	var err error
	if r.id, r.given, err = resolveID(*id); err != nil {
		return labRef{}, nil, err
	}
	return r, fs.Args(), nil
}

// attach finds the lab a command names: by ID when one was given (the dir
// must hold that lab), else the lab in --dir (default build/lab).
func (r labRef) attach() (*labenv.Lab, error) {
	if r.given {
		return labenv.AttachID(r.id, r.dir)
	}
	return labenv.Attach(r.dir)
}

func runDown(ctx context.Context, args []string, stderr io.Writer) error {
	ref, rest, err := labFlags("down", args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", rest)}
	}
	start := time.Now()
	if ref.given {
		err = labenv.DownID(ctx, ref.id, ref.dir, stderr)
	} else {
		err = labenv.Down(ctx, ref.dir, stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "lab: down after %.1fs\n", time.Since(start).Seconds())
	return nil
}

func runStatus(args []string, stdout io.Writer) error {
	ref, rest, err := labFlags("status", args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", rest)}
	}
	l, err := ref.attach()
	if err != nil {
		return err
	}
	renderStatus(stdout, l)
	return nil
}

func renderStatus(w io.Writer, l *labenv.Lab) {
	o := l.Options()
	n := l.Network()
	fmt.Fprintf(w, "lab %d in %s: %s %s -> %s, %d hosts (bridge %s %s)\n", l.ID(), l.Dir(), o.Edition, o.From, o.To, len(l.Hosts()), n.Bridge, n.OuterNet)
	for _, h := range l.Hosts() {
		fmt.Fprintf(w, "  %-10s %-15s %-14s sshd pid %d\n", h.Name, h.Address, strings.Join(h.Roles, ","), h.SSHDPID)
	}
	fmt.Fprintf(w, "inventory: %s\n", l.InventoryPath())
	fmt.Fprintf(w, "ssh:       ssh -F %s HOST\n", l.SSHConfigPath())
}

func runFault(ctx context.Context, args []string, stdout io.Writer) error {
	ref, rest, err := labFlags("fault", args)
	if err != nil {
		return err
	}
	if len(rest) < 1 || len(rest) > 3 {
		return usageError{errors.New("want FAULT HOST [PATH]")}
	}
	fault, host, path := rest[0], "", ""
	if len(rest) > 1 {
		host = rest[1]
	}
	if len(rest) > 2 {
		path = rest[2]
	}
	l, err := ref.attach()
	if err != nil {
		return err
	}
	needHost := func() error {
		if host == "" {
			return usageError{fmt.Errorf("fault %s needs a HOST", fault)}
		}
		return nil
	}
	switch fault {
	case "stop-db":
		err = l.StopDB(ctx)
	case "start-db":
		err = l.StartDB(ctx)
	case "kill-sshd", "start-sshd", "kill-kong", "start-kong", "cut", "restore", "fill-disk", "free-disk", "heal":
		if err := needHost(); err != nil {
			return err
		}
		switch fault {
		case "kill-sshd":
			err = l.KillSSHD(ctx, host)
		case "start-sshd":
			err = l.StartSSHD(ctx, host)
		case "kill-kong":
			err = l.KillKong(ctx, host)
		case "start-kong":
			err = l.StartKong(ctx, host)
		case "cut":
			err = l.CutNetwork(ctx, host)
		case "restore":
			err = l.RestoreNetwork(ctx, host)
		case "fill-disk":
			err = l.FillDisk(ctx, host, path)
		case "free-disk":
			err = l.FreeDisk(ctx, host, path)
		case "heal":
			err = l.Heal(ctx, host)
		}
	default:
		return usageError{fmt.Errorf("unknown fault %q", fault)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: done\n", fault, host)
	return nil
}

func runSSH(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ref, rest, err := labFlags("ssh", args)
	if err != nil || len(rest) == 0 {
		fmt.Fprintln(stderr, "kongctl-lab ssh: want [--id K] [--dir DIR] HOST [COMMAND...]")
		return 2
	}
	l, err := ref.attach()
	if err != nil {
		fmt.Fprintf(stderr, "kongctl-lab ssh: %v\n", err)
		return 1
	}
	sshArgs := []string{"-F", l.SSHConfigPath(), rest[0]}
	if len(rest) > 1 {
		sshArgs = append(sshArgs, "--", strings.Join(rest[1:], " "))
	}
	cmd := exec.CommandContext(ctx, "ssh", sshArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "kongctl-lab ssh: %v\n", err)
		return 1
	}
	return 0
}
