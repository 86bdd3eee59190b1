package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Unpacking a package into a scratch root without installing it, for the
// kong.conf check of Y (confcheck.go).

// extractPackage unpacks a .deb (dpkg-deb -x) or an .rpm (rpm2cpio, whose
// cpio stream the agent unpacks itself: cpio is not installed everywhere)
// into root without installing it.
func extractPackage(ctx context.Context, run *opRun, pkg, root string) error {
	if strings.HasSuffix(pkg, ".rpm") {
		if err := run.a.extractRPM(ctx, pkg, root); err != nil {
			return agentproto.Errorf(agentproto.CodeCommandFailed, "kong.conf check: extract %s: %v", filepath.Base(pkg), err)
		}
		return nil
	}
	r, err := run.exec(ctx, cmdSpec{Args: []string{"dpkg-deb", "-x", pkg, root}})
	if err != nil {
		return fmt.Errorf("kong.conf check: extract %s: %w", filepath.Base(pkg), err)
	}
	if r.ExitCode != 0 {
		return agentproto.Errorf(agentproto.CodeCommandFailed, "kong.conf check: extract %s: dpkg-deb exited %d: %s", filepath.Base(pkg), r.ExitCode, clip(strings.TrimSpace(string(r.Stderr)), 1024))
	}
	return nil
}

// extractRPM streams `rpm2cpio <pkg>` into unpackCPIO.
func (a *Agent) extractRPM(ctx context.Context, pkg, root string) error {
	bin, err := a.lookPath("rpm2cpio")
	if err != nil {
		return fmt.Errorf("rpm2cpio: %w", err)
	}
	stderr, uerr, werr, err := a.streamStdout(ctx, []string{bin, pkg}, func(out io.Reader) error { return unpackCPIO(out, root) })
	if err != nil {
		return fmt.Errorf("rpm2cpio: %w", err)
	}
	if uerr != nil {
		return fmt.Errorf("%w (rpm2cpio: %v %s)", uerr, werr, strings.TrimSpace(string(stderr)))
	}
	// An archive read to its trailer is whole: Debian 12's rpm2cpio
	// (rpm 4.18.0) exits 1 after writing a complete archive, so its
	// status is only reported when the archive is cut short.
	return nil
}

// unpackCPIO unpacks a cpio "newc" archive (what rpm2cpio writes):
// directories, regular files and symlinks, every path kept under root.
func unpackCPIO(r io.Reader, root string) error {
	br := bufio.NewReader(r)
	var off int64
	pad := func(n int64) error {
		if p := (4 - (off+n)%4) % 4; p > 0 {
			if _, err := io.CopyN(io.Discard, br, p); err != nil {
				return err
			}
			off += p
		}
		return nil
	}
	for {
		var hdr [110]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("cpio header: %w", err)
		}
		off += 110
		if m := string(hdr[:6]); m != "070701" && m != "070702" {
			return fmt.Errorf("cpio: not a newc archive (magic %q)", m)
		}
		field := func(i int) (int64, error) { return strconv.ParseInt(string(hdr[6+8*i:14+8*i]), 16, 64) }
		mode, err1 := field(1)
		size, err2 := field(6)
		nameSize, err3 := field(11)
		if err := errors.Join(err1, err2, err3); err != nil || nameSize <= 0 || nameSize > 4096 {
			return fmt.Errorf("cpio: bad header: %v", err)
		}
		nameb := make([]byte, nameSize)
		if _, err := io.ReadFull(br, nameb); err != nil {
			return fmt.Errorf("cpio name: %w", err)
		}
		off += nameSize
		if err := pad(0); err != nil {
			return err
		}
		name := strings.TrimRight(string(nameb), "\x00")
		if name == "TRAILER!!!" {
			return nil
		}
		rel := filepath.Clean("/" + name)
		dst := filepath.Join(root, rel)
		if rel == "/" || !strings.HasPrefix(dst, root+string(filepath.Separator)) {
			return fmt.Errorf("cpio: entry %q leaves the extract", name)
		}
		body := io.LimitReader(br, size)
		var err error
		switch mode & 0o170000 {
		case 0o040000:
			err = os.MkdirAll(dst, 0o755)
		case 0o100000:
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(mode&0o755)); err == nil {
					_, err = io.Copy(f, body)
					err = errors.Join(err, f.Close())
				}
			}
		case 0o120000:
			var target []byte
			if target, err = io.ReadAll(body); err == nil {
				if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
					err = os.Symlink(string(target), dst)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("cpio: %s: %w", name, err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil { // what was not consumed
			return fmt.Errorf("cpio: %s: %w", name, err)
		}
		off += size
		if err := pad(0); err != nil {
			return err
		}
	}
}
