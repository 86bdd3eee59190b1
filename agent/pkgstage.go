package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
)

// Staging: the package file put in the agent's owner-only packages
// directory before the stop: uploaded from the bastion, or downloaded from
// the node's own repositories (apt, dnf, yum), with its sha256; or found
// there, staged by an earlier run of the same upgrade.

func (a *Agent) packagesDir() string { return filepath.Join(a.StateDir, "packages") }

// stagePackage stages the file, stamps its sha256 (checkStagedSum), then
// reads what it holds and checks its dependencies (inspectStaged): all
// before the stop.
func (a *Agent) stagePackage(ctx context.Context, run *opRun, p *agentproto.StageParams) (*agentproto.StageResult, error) {
	r, err := a.stageFile(ctx, run, p)
	if err != nil {
		return nil, err
	}
	stampSum(r.Path, r.SHA256)
	if err := a.inspectStaged(ctx, run, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (a *Agent) stageFile(ctx context.Context, run *opRun, p *agentproto.StageParams) (*agentproto.StageResult, error) {
	dir := a.packagesDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	switch p.Source {
	case agentproto.SourceUpload:
		name := p.FileName
		if name == "" {
			name = filepath.Base(p.UploadedPath)
		}
		if !agentproto.ValidStepID(name) {
			return nil, agentproto.Errorf(agentproto.CodeInvalid, "package file name %q", name)
		}
		dst := filepath.Join(dir, name)
		if r, err := a.alreadyStaged(dst, p.SHA256); err == nil {
			if p.UploadedPath != dst {
				_ = os.Remove(p.UploadedPath)
			}
			return r, nil
		}
		sum, err := filehash.SHA256(p.UploadedPath)
		if err != nil {
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "uploaded package: %v", err)
		}
		if sum != p.SHA256 {
			return nil, agentproto.Errorf(agentproto.CodeChecksumMismatch, "uploaded package %s has sha256 %s, want %s", p.UploadedPath, sum, p.SHA256)
		}
		if err := moveFile(p.UploadedPath, dst); err != nil {
			return nil, err
		}
		size, _ := fileSize(dst)
		return &agentproto.StageResult{Path: dst, Size: size, SHA256: sum}, nil
	case agentproto.SourceStaged:
		if !agentproto.ValidStepID(p.FileName) {
			return nil, agentproto.Errorf(agentproto.CodeInvalid, "package file name %q", p.FileName)
		}
		return a.alreadyStaged(filepath.Join(dir, p.FileName), p.SHA256)
	case agentproto.SourceRepo:
		mgr := p.Manager
		if mgr == "" {
			mgr = a.detectPackageManager()
		}
		tmp, err := os.MkdirTemp(dir, ".download-")
		if err != nil {
			return nil, fmt.Errorf("create download dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		var args []string
		switch mgr {
		case "apt", "dpkg":
			args = []string{"apt-get", "download", p.Package + "=" + p.Version}
		case "dnf":
			args = []string{"dnf", "download", "--destdir", tmp, p.Package + "-" + p.Version}
		case "yum":
			args = []string{"yumdownloader", "--destdir", tmp, p.Package + "-" + p.Version}
		default:
			return nil, agentproto.Errorf(agentproto.CodeNotFound, "no package manager to download %s %s with", p.Package, p.Version)
		}
		res, err := run.exec(ctx, cmdSpec{Args: args, Dir: tmp})
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, agentproto.Errorf(agentproto.CodeCommandFailed, "%s exited %d", strings.Join(args, " "), res.ExitCode)
		}
		ents, _ := os.ReadDir(tmp)
		var files []string
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".deb") || strings.HasSuffix(n, ".rpm") {
				files = append(files, n)
			}
		}
		if len(files) != 1 {
			return nil, agentproto.Errorf(agentproto.CodeCommandFailed, "%s left %d package files, want 1", strings.Join(args, " "), len(files))
		}
		src := filepath.Join(tmp, files[0])
		sum, err := filehash.SHA256(src)
		if err != nil {
			return nil, err
		}
		if p.SHA256 != "" && sum != p.SHA256 {
			return nil, agentproto.Errorf(agentproto.CodeChecksumMismatch, "downloaded %s has sha256 %s, want %s", files[0], sum, p.SHA256)
		}
		name := p.FileName
		if name == "" {
			name = files[0]
		}
		dst := filepath.Join(dir, filepath.Base(name))
		if err := moveFile(src, dst); err != nil {
			return nil, err
		}
		size, _ := fileSize(dst)
		return &agentproto.StageResult{Path: dst, Size: size, SHA256: sum}, nil
	}
	return nil, agentproto.Errorf(agentproto.CodeInvalid, "source %q", p.Source)
}

// alreadyStaged returns dst as staged before when it holds sha256 want,
// known from its stamp while the file is the one staging hashed
// (checkStagedSum); else checkStagedSum's CodeNotFound or
// CodeChecksumMismatch.
func (a *Agent) alreadyStaged(dst, want string) (*agentproto.StageResult, error) {
	if _, err := a.checkStagedSum(dst, want); err != nil {
		return nil, err
	}
	size, _ := fileSize(dst)
	return &agentproto.StageResult{Path: dst, Size: size, SHA256: want, AlreadyDone: true}, nil
}

// moveFile renames src to dst (0600), copying across file systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return os.Chmod(dst, 0o600)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy to %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	_ = os.Remove(src)
	return nil
}
