package sshfleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
)

func (n *agentNode) StagePackage(ctx context.Context, p fleet.PackageRef) (fleet.StagedPackage, error) {
	return n.stage(ctx, p, false)
}

// stage stages p on the node. With lookFirst (a run that did not stage it
// itself: a resumed run, `kongctl rollback`) a file it would upload is
// first looked for where an earlier staging left it, and sent only when
// it is not there with its hash: a rollback's downtime does not wait for
// X's package to cross the bastion again.
func (n *agentNode) stage(ctx context.Context, p fleet.PackageRef, lookFirst bool) (fleet.StagedPackage, error) {
	if lookFirst && p.Source == "file" {
		res, err := n.h.client().StagePackage(ctx, agentproto.StageParams{Source: agentproto.SourceStaged, FileName: filepath.Base(p.LocalPath), SHA256: p.SHA256})
		switch agentproto.CodeOf(err) {
		case agentproto.CodeNotFound, agentproto.CodeChecksumMismatch: // not there: upload it
		default:
			if err != nil {
				return fleet.StagedPackage{}, err
			}
			return n.keepStaged(p, res), nil
		}
	}
	var params agentproto.StageParams
	if p.Source == "file" {
		f, err := os.Open(p.LocalPath)
		if err != nil {
			return fleet.StagedPackage{}, fmt.Errorf("stage package on %s: %w", n.h.name, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fleet.StagedPackage{}, err
		}
		// Packages are not secret; the agent moves the upload into its
		// own packages directory after checking the hash.
		tmp := "/tmp/kongctl-upload-" + p.SHA256[:12] + "-" + filepath.Base(p.LocalPath)
		if err := n.h.conn().Upload(ctx, tmp, f, st.Size(), 0o600, nil); err != nil {
			return fleet.StagedPackage{}, fmt.Errorf("upload %s to %s: %w", filepath.Base(p.LocalPath), n.h.name, err)
		}
		params = agentproto.StageParams{Source: agentproto.SourceUpload, UploadedPath: tmp, SHA256: p.SHA256, FileName: filepath.Base(p.LocalPath)}
	} else {
		params = agentproto.StageParams{Source: agentproto.SourceRepo, Package: p.Name, Version: p.Version}
	}
	res, err := n.h.client().StagePackage(ctx, params)
	if err != nil {
		return fleet.StagedPackage{}, err
	}
	return n.keepStaged(p, res), nil
}

// keepStaged remembers where p is staged on the node and returns what the
// node found in it.
func (n *agentNode) keepStaged(p fleet.PackageRef, res *agentproto.StageResult) fleet.StagedPackage {
	n.mu.Lock()
	n.staged[stagedKey(p)] = res.Path
	n.mu.Unlock()
	return fleet.StagedPackage{Package: res.Package, Version: res.PackageVersion, DepsMet: res.DepsMet, DepsDetail: res.DepsDetail}
}

// stagedKey is p's entry in the node's staged files: name and version (a
// custom plugin package may carry a version that is also Kong's).
func stagedKey(p fleet.PackageRef) string { return p.Name + "=" + p.Version }

func (n *agentNode) InstallPackage(ctx context.Context, p fleet.PackageRef, timeout time.Duration) error {
	n.mu.Lock()
	path := n.staged[stagedKey(p)]
	n.mu.Unlock()
	if path == "" { // a resumed run: staging is idempotent (same hash)
		if _, err := n.stage(ctx, p, true); err != nil {
			return err
		}
		n.mu.Lock()
		path = n.staged[stagedKey(p)]
		n.mu.Unlock()
	}
	// Hold: the installed version (Y, or X on rollback) is pinned against
	// unattended upgrades (apt-mark hold, dnf versionlock); kongctl's own
	// next install releases it. The lean install (dependencies met at
	// staging) leaves the hold to HoldPackage, after the fleet serves.
	// The staged file's sha256 is checked again either way; the agent
	// answers it from the stamp staging left while the file is the one
	// it hashed (same inode, size, mtime and ctime), without reading it.
	params := agentproto.InstallParams{Path: path, SHA256: p.SHA256, Package: p.Name, AllowDowngrade: true, Hold: !p.DepsMet, Lean: p.DepsMet, ExpectVersion: p.Version, Background: p.Background}
	if p.Plugin { // a custom plugin package: `kong version` is Kong's, not its own
		params.ExpectVersion, params.Hold = "", false
	}
	if p.StepID == "" {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		_, err := n.h.client().InstallPackage(ctx, params)
		return err
	}
	// Detached: the package manager runs in its own session on the node,
	// bounded there by timeout, and finishes even when this wait ends (a
	// lost connection, a killed controller, a second Ctrl-C). The wait
	// gets a minute more than the step for re-attaching.
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout+time.Minute)
		defer cancel()
	}
	rep, err := n.runDetached(ctx, detachedStep{ID: p.StepID, Op: agentproto.OpPackageInstall, Timing: string(agentproto.OpPackageInstall),
		Lost: "its runner died mid-install"}, params, timeout)
	if err != nil {
		return err
	}
	if rep.Error != nil {
		return &agentclient.OpError{Host: n.h.name, Op: agentproto.OpPackageInstall, Err: rep.Error, ExitStatus: rep.ExitStatus, StdoutTail: rep.StdoutTail, StderrTail: rep.StderrTail, Reply: rep}
	}
	return nil
}

// RepairPackages finishes a package operation left half-done on the node
// (agentproto.OpPackageRepair), after the detached installs still running
// there (waited for up to wait).
func (n *agentNode) RepairPackages(ctx context.Context, p fleet.PackageRef, wait time.Duration) (fleet.PackageRepair, error) {
	name := p.Name
	if name == "" {
		name = "kong"
	}
	r, err := n.h.client().RepairPackages(ctx, agentproto.RepairParams{Package: name, Format: p.Format, StepWait: wait})
	if err != nil {
		return fleet.PackageRepair{}, err
	}
	return fleet.PackageRepair{Checked: r.Checked, Found: r.Found, Repaired: r.Repaired, Output: r.Output, WaitedFor: r.WaitedFor}, nil
}

func (n *agentNode) HoldPackage(ctx context.Context, p fleet.PackageRef) error {
	_, err := n.h.client().HoldPackage(ctx, agentproto.HoldParams{Package: p.Name, Format: p.Format})
	return err
}

func (n *agentNode) RemovePackage(ctx context.Context, p fleet.PackageRef) error {
	cmd, err := removeCommand(p)
	if err != nil {
		return fmt.Errorf("host %s: remove package: %w", n.h.name, err)
	}
	r, err := n.h.client().Exec(ctx, agentproto.ExecParams{Command: cmd})
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("host %s: %s: exit %d: %s", n.h.name, cmd, r.ExitCode, strings.TrimSpace(r.StderrTail))
	}
	n.mu.Lock()
	n.facts = nil
	n.mu.Unlock()
	return nil
}

// CheckConfWithY runs the staged Y's kong check and kong prepare against
// the node's kong.conf, from a scratch extract on the node.
func (n *agentNode) CheckConfWithY(ctx context.Context, y fleet.PackageRef) (fleet.YConfCheck, error) {
	n.mu.Lock()
	path := n.staged[stagedKey(y)]
	n.mu.Unlock()
	if path == "" {
		return fleet.YConfCheck{}, fmt.Errorf("check kong.conf with %s %s on %s: the package is not staged", y.Name, y.Version, n.h.name)
	}
	r, err := n.h.client().ConfCheck(ctx, agentproto.ConfCheckParams{PackagePath: path, Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile})
	if err != nil {
		return fleet.YConfCheck{}, fmt.Errorf("check kong.conf with %s %s on %s: %w", y.Name, y.Version, n.h.name, err)
	}
	return fleet.YConfCheck{Version: r.Version, Conf: r.Conf, CheckExit: r.CheckExit, CheckStderr: r.CheckStderr, PrepareExit: r.PrepareExit, PrepareStderr: r.PrepareStderr}, nil
}

// removeCommand is the package manager command that removes Kong on a
// host of that package format.
func removeCommand(p fleet.PackageRef) (string, error) {
	if p.Name == "" || strings.ContainsAny(p.Name, " '\"\\;&|$`") {
		return "", fmt.Errorf("invalid package name %q", p.Name)
	}
	if p.Format == "rpm" {
		return "rpm -e " + p.Name, nil
	}
	return "dpkg --remove " + p.Name, nil
}
