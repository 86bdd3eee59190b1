package labenv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Limits and defaults of a lab.
const (
	MaxNodes           = 64
	DefaultNodes       = 3
	DefaultFromOSS     = "2.8.4"
	DefaultToOSS       = "3.4.2"
	DefaultFromEE      = "3.4.3.5"
	DefaultToEE        = "3.10.0.2"
	DefaultDiskMB      = 512
	DefaultConcurrency = 8
	MaxRows            = 5_000_000

	EditionOSS        = "oss"
	EditionEnterprise = "enterprise"
)

// Options describe a lab. The zero value is a 3-node OSS 2.8.4 lab 0 (or lab
// $KONGCTL_LAB_ID) in <repo>/build/lab.
type Options struct {
	// ID (0..MaxID) picks the lab's names and addresses, so several labs run
	// on one machine at once (see NetworkOf). 0 means $KONGCTL_LAB_ID when it
	// is set, else lab 0. One lab per ID per machine: Up and Down of an ID
	// remove whatever carries that ID's names.
	ID int `json:"id"`
	// Dir holds the lab's state and outputs (hosts.hcl, keys, state.json).
	// Default: <repository root>/build/lab for ID 0, build/lab<k> for ID k.
	Dir string `json:"-"`
	// PackagesDir holds kong_<version>_amd64.deb (and the Enterprise
	// packages). Default: <repository root>/build/packages.
	PackagesDir string `json:"packages_dir"`
	// Nodes is the number of Kong hosts (control planes when Hybrid), 1..64.
	Nodes int `json:"nodes"`
	// From is the Kong version installed on every node; To is the upgrade
	// target written to the inventory.
	From string `json:"from"`
	To   string `json:"-"`
	// Edition is "oss" (default) or "enterprise".
	Edition string `json:"edition"`
	// Bastion puts the database and the nodes on an inner network reachable
	// only through a bastion host.
	Bastion bool `json:"bastion"`
	// User is the SSH user (default root). Any other user gets passwordless
	// sudo on every host, and the inventory says become { method = "sudo" }.
	User string `json:"user"`
	// Hybrid makes the Kong hosts control planes and adds DPs data planes.
	Hybrid bool `json:"hybrid"`
	DPs    int  `json:"dps"`
	// Spares adds hosts with sshd and no Kong (role spare).
	Spares int `json:"spares"`
	// DiskMB is the size of each node's /usr/local (a tmpfs, so a full disk
	// is a real ENOSPC). Default 512.
	DiskMB int `json:"disk_mb"`
	// PackageFormat is "deb" (default: nodes keep Debian's apt and dpkg),
	// "rpm" or "dnf": each node's own view of the file system loses apt and
	// dpkg (and, for "rpm", dnf and yum), so Kong is installed, upgraded and
	// rolled back from .rpm files with rpm alone or with dnf, as on
	// RHEL-family hosts. The machine needs the rpm tool (and dnf for "dnf"):
	// scripts/install-deps.sh installs both.
	PackageFormat string `json:"package_format"`
	// Repository serves the packages as an apt repository (a flat file:
	// repository in the packages directory the nodes see), makes it the
	// nodes' only apt source, and writes the inventory with
	// package { source = "repository" }: kongctl downloads Kong with
	// apt-get on each node instead of uploading it. deb only.
	Repository bool `json:"repository"`
	// RBAC (Enterprise only) enforces RBAC on every node's Admin API
	// (enforce_rbac = on) with a super admin seeded at bootstrap from a
	// generated KONG_PASSWORD, the way Kong's bootstrap does
	// (kong-reference 9.1); the token is written to admin-token (0600)
	// beside hosts.hcl, which names it in kong { admin_token_file }.
	RBAC bool `json:"rbac"`
	// Keyring (Enterprise only) turns on every node's keyring
	// (keyring_enabled = on, keyring_strategy = cluster) with an RSA pair
	// for its export and import: keyring-key.pem (0600) and
	// keyring-cert.pem beside hosts.hcl, /etc/kong/keyring/ on the nodes
	// (keyring.go, kong-reference 9.8).
	Keyring bool `json:"keyring,omitempty"`
	// EnvConf puts every node's database settings (host, user, database,
	// password) only in the service's environment: the environment file
	// /etc/kong/kong_env.conf (KONG_*=value, 0600) that the lab's service
	// script (kong-node.sh) reads before `kong start`, named in the
	// inventory's upgrade.service_env_file. kong.conf then points at a
	// decoy database (kong_decoy, its own role and password, a
	// bootstrapped Kong schema) that an upgrade must leave untouched
	// (kong-reference 9.2).
	EnvConf bool `json:"envconf"`
	// LB adds a host "lb" running Debian's HAProxy in front of the Kong
	// proxies (the data planes in hybrid mode): frontend :8000, one
	// backend "kong" with a server per node, health-checked on the proxy
	// port, its runtime API at /run/haproxy/admin.sock (level admin); the
	// inventory gains the lb host and a load_balancer block (lb.go).
	LB bool `json:"lb,omitempty"`
	// DB2 adds a second PostgreSQL server on the db host (port DB2Port,
	// data beside the first), with a role DB2User of its own (CREATEDB,
	// its password in DB2PasswordFile) and no Kong database: where a
	// dual-cluster's target database on another server goes (db2.go).
	DB2 bool `json:"db2,omitempty"`
	// NoSeed skips creating the lab's services and routes.
	NoSeed bool `json:"no_seed"`
	// Rows, when not 0, makes the database production-sized: that many
	// consumers, each with a key-auth credential and a plugin row, written in the database once Kong
	// X has bootstrapped it (see rows.go). 0..MaxRows.
	Rows int `json:"rows,omitempty"`
	// Concurrency bounds the per-host work done at once. Default 8.
	Concurrency int `json:"-"`
	// Log receives progress lines. Default: os.Stderr.
	Log io.Writer `json:"-"`
}

var (
	ossVersionRE = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	eeVersionRE  = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
	userRE       = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// normalize fills in defaults and checks the options. It resolves Dir and
// PackagesDir to absolute paths, finding the repository root from the working
// directory when they are empty.
func (o Options) normalize() (Options, error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.ID == 0 {
		id, err := DefaultID()
		if err != nil {
			return o, err
		}
		o.ID = id
	}
	if err := checkID(o.ID); err != nil {
		return o, err
	}
	if o.Dir == "" || o.PackagesDir == "" {
		root, err := RepoRoot()
		if err != nil {
			return o, err
		}
		if o.Dir == "" {
			o.Dir = filepath.Join(BuildBase(root), DirName(o.ID))
		}
		if o.PackagesDir == "" {
			o.PackagesDir = filepath.Join(root, "build", "packages")
		}
	}
	var err error
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return o, fmt.Errorf("lab dir: %w", err)
	}
	if o.PackagesDir, err = filepath.Abs(o.PackagesDir); err != nil {
		return o, fmt.Errorf("packages dir: %w", err)
	}
	if top := hiddenTop(o.Dir); top != "" {
		return o, fmt.Errorf("lab dir %s: must not be under %s (the hosts overlay or replace it)", o.Dir, top)
	}
	if o.Nodes == 0 {
		o.Nodes = DefaultNodes
	}
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		return o, fmt.Errorf("nodes = %d: must be 1..%d", o.Nodes, MaxNodes)
	}
	switch o.Edition {
	case "", "oss", "community", "ce":
		o.Edition = EditionOSS
	case "enterprise", "ee":
		o.Edition = EditionEnterprise
	default:
		return o, fmt.Errorf("edition %q: must be oss or enterprise", o.Edition)
	}
	if o.From == "" {
		o.From = map[string]string{EditionOSS: DefaultFromOSS, EditionEnterprise: DefaultFromEE}[o.Edition]
	}
	if o.To == "" {
		o.To = map[string]string{EditionOSS: DefaultToOSS, EditionEnterprise: DefaultToEE}[o.Edition]
	}
	re := ossVersionRE
	if o.Edition == EditionEnterprise {
		re = eeVersionRE
	}
	for _, v := range []string{o.From, o.To} {
		if !re.MatchString(v) {
			return o, fmt.Errorf("version %q: not a %s version (%s)", v, o.Edition,
				map[string]string{EditionOSS: "X.Y.Z", EditionEnterprise: "X.Y.Z.W"}[o.Edition])
		}
	}
	if o.RBAC && o.Edition != EditionEnterprise {
		return o, errors.New("rbac: RBAC is an Enterprise feature; use it with edition enterprise (make lab-up EDITION=enterprise RBAC=1)")
	}
	if o.Keyring && o.Edition != EditionEnterprise {
		return o, errors.New("keyring: the keyring is an Enterprise feature; use it with edition enterprise (make lab-up EDITION=enterprise KEYRING=1)")
	}
	if o.EnvConf && o.Hybrid {
		return o, errors.New("envconf: not with hybrid labs (their data planes have no database settings); use it with traditional nodes")
	}
	if o.LB && o.Bastion {
		return o, errors.New("lb: not with a bastion (the machine's test clients reach the load balancer directly); use it without BASTION")
	}
	if o.User == "" {
		o.User = "root"
	}
	if !userRE.MatchString(o.User) {
		return o, fmt.Errorf("user %q: not a valid user name", o.User)
	}
	if o.Hybrid {
		if o.DPs == 0 {
			o.DPs = 1
		}
	} else if o.DPs != 0 {
		return o, errors.New("dps: data planes need hybrid mode")
	}
	if o.DPs < 0 || o.DPs > MaxNodes {
		return o, fmt.Errorf("dps = %d: must be 0..%d", o.DPs, MaxNodes)
	}
	if o.Spares < 0 || o.Spares > MaxNodes {
		return o, fmt.Errorf("spares = %d: must be 0..%d", o.Spares, MaxNodes)
	}
	if o.DiskMB == 0 {
		o.DiskMB = DefaultDiskMB
	}
	if o.DiskMB < 16 {
		return o, fmt.Errorf("disk_mb = %d: must be at least 16", o.DiskMB)
	}
	switch o.PackageFormat {
	case "", "deb":
		o.PackageFormat = "deb"
	case "rpm", "dnf":
	default:
		return o, fmt.Errorf("package format %q: must be deb, rpm or dnf", o.PackageFormat)
	}
	if o.Repository && o.PackageFormat != "deb" {
		return o, fmt.Errorf("repository: the lab serves an apt repository only (package format deb, not %s)", o.PackageFormat)
	}
	if o.Rows < 0 || o.Rows > MaxRows {
		return o, fmt.Errorf("rows = %d: must be 0..%d", o.Rows, MaxRows)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return o, nil
}

// fingerprint identifies the parts of the options that shape the lab's hosts;
// a lab that is up with the same fingerprint is reused by Up. "net=/19" marks
// the per-ID address plan (a lab built with the old /16 is rebuilt). Rows
// appears only when set, so the fingerprints of labs without it stay as
// they were.
func (o Options) fingerprint() string {
	rows := ""
	if o.Rows > 0 {
		rows = fmt.Sprintf(" rows=%d", o.Rows)
	}
	if o.LB {
		rows += " lb=true"
	}
	if o.DB2 {
		rows += " db2=true"
	}
	return fmt.Sprintf("id=%d net=/%d nodes=%d from=%s edition=%s bastion=%t user=%s hybrid=%t dps=%d spares=%d disk=%d seed=%t packages=%s format=%s repo=%t",
		o.ID, NetPrefix, o.Nodes, o.From, o.Edition, o.Bastion, o.User, o.Hybrid, o.DPs, o.Spares, o.DiskMB, !o.NoSeed, o.PackagesDir, o.PackageFormat, o.Repository) + rows
}

// PackageFile is the file name of the simulated Kong package of a version:
// kong_<v>_amd64.deb, or kong-enterprise-edition_<v>_amd64.deb.
func PackageFile(edition, version string) string {
	return PackageFileOf(edition, version, "deb")
}

// PackageFileOf is PackageFile in another format ("deb", or "rpm" and
// "dnf" for .rpm files).
func PackageFileOf(edition, version, format string) string {
	if format == "dnf" {
		format = "rpm"
	}
	if edition == EditionEnterprise {
		return "kong-enterprise-edition_" + version + "_amd64." + format
	}
	return "kong_" + version + "_amd64." + format
}

// RepoRoot finds the kongctl repository root above the working directory.
// hostTops are the machine's directories that every lab host overlays or
// replaces with its own: a path under one of them is not the same file
// inside a host.
var hostTops = []string{"/etc", "/usr", "/var", "/home", "/root", "/opt", "/srv", "/tmp", "/run"}

// hiddenTop returns the top directory under which path is hidden from the
// lab's hosts, or "".
func hiddenTop(path string) string {
	for _, top := range hostTops {
		if path == top || strings.HasPrefix(path, top+"/") {
			return top
		}
	}
	return ""
}

// BuildBase is where labs live for a checkout at root: <root>/build, or,
// when the checkout itself sits where the hosts cannot see it (a clone
// under /tmp, /home or /root), /kongctl-lab/<hash of root>. mk/lab.mk
// computes the same path.
func BuildBase(root string) string {
	if hiddenTop(root) == "" {
		return filepath.Join(root, "build")
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join("/kongctl-lab", hex.EncodeToString(sum[:])[:8])
}

func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/kongctl/kongctl\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of github.com/kongctl/kongctl above the working directory")
		}
		dir = parent
	}
}
