package sshremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/pkg/sftp"
)

// SFTP write sizes. Every server must take writes of sftpDefaultPacket
// bytes (pkg/sftp's default). OpenSSH's sftp-server and internal-sftp take
// messages of up to 256 KiB, and recent releases (9.2 in Debian 12)
// advertise limits@openssh.com, whose reply gives sftpOpenSSHWriteMax as
// max-write-length; pkg/sftp cannot send that request, so the extension's
// presence stands for it.
// Larger writes mean fewer SFTP requests, replies and SSH packets per
// upload: each SFTP write is sent as its header and its data, and an SSH
// packet carries at most 32 KiB of channel data.
const (
	sftpDefaultPacket   = 32 << 10
	sftpOpenSSHWriteMax = 256<<10 - 1024
	sftpLimitsExtension = "limits@openssh.com"
)

// sftpPacketSize is the write size to use with a server that advertised
// the extensions hasExt reports.
func sftpPacketSize(hasExt func(name string) (string, bool)) int {
	if _, ok := hasExt(sftpLimitsExtension); ok {
		return sftpOpenSSHWriteMax
	}
	return sftpDefaultPacket
}

// sizeSFTP sets the write size of sc, just started, for the extensions
// its server advertised (hasExt) and returns it.
func sizeSFTP(sc *sftp.Client, hasExt func(name string) (string, bool)) (int, error) {
	packet := sftpPacketSize(hasExt)
	if err := sftp.MaxPacketUnchecked(packet)(sc); err != nil {
		return 0, fmt.Errorf("packet size %d: %w", packet, err)
	}
	return packet, nil
}

// uploadBufSize is the copy buffer of an upload with SFTP writes of packet
// bytes: a whole number of writes, up to 8 of them and about 1 MiB, sent
// concurrently (UseConcurrentWrites) before the copy waits for their replies.
func uploadBufSize(packet int) int {
	return packet * max(1, min(8, (1<<20)/packet))
}

// uploadBufs recycles upload buffers (*[]byte) across uploads and hosts:
// a fleet's packages would otherwise allocate a buffer per node and file.
var uploadBufs sync.Pool

func getUploadBuf(size int) *[]byte {
	if b, ok := uploadBufs.Get().(*[]byte); ok && len(*b) == size {
		return b
	}
	b := make([]byte, size)
	return &b
}

// sftpClient returns the shared SFTP client, starting it on first use.
func (c *Client) sftpClient(ctx context.Context) (*sftp.Client, error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	var sc *sftp.Client
	err := c.guard(ctx, func() error {
		var e error
		sc, e = sftp.NewClient(c.conn, sftp.UseConcurrentWrites(true))
		if e == nil {
			c.sessions.Add(1)
		}
		return e
	})
	if err != nil {
		if sc != nil {
			sc.Close()
		}
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	// The server's extensions are known only once the client has started:
	// the size is set before anyone else sees sc.
	packet, err := sizeSFTP(sc, sc.HasExtension)
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	c.sftp, c.sftpPacket = sc, packet
	return sc, nil
}

// dropSFTP closes sc and forgets it, so the next operation starts afresh.
func (c *Client) dropSFTP(sc *sftp.Client) {
	c.sftpMu.Lock()
	if c.sftp == sc {
		c.sftp, c.sftpPacket = nil, 0
	}
	c.sftpMu.Unlock()
	sc.Close()
}

// sftpPacketOf is the write size sc was started with.
func (c *Client) sftpPacketOf(sc *sftp.Client) int {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp == sc && c.sftpPacket > 0 {
		return c.sftpPacket
	}
	return sftpDefaultPacket
}

// withSFTP runs fn with the shared SFTP client, bounded by ctx: a cancel
// closes the SFTP client (failing other SFTP calls in flight on this host).
func (c *Client) withSFTP(ctx context.Context, op string, fn func(*sftp.Client) error) error {
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return c.opErr(op, err)
	}
	if err := c.guard(ctx, func() error { return fn(sc) }, func() { c.dropSFTP(sc) }); err != nil {
		return c.opErr(op, err)
	}
	return nil
}

// Upload writes src to dst over SFTP, creating or truncating dst with mode.
// It writes dst directly: callers wanting atomicity upload to a temporary
// name and Rename. size, when >= 0, is checked against the bytes written.
// progress, if set, is called with the running total after each write.
// When the Client came from a Pool, uploads wait for a slot of the pool's
// upload limit.
func (c *Client) Upload(ctx context.Context, dst string, src io.Reader, size int64, mode fs.FileMode, progress func(written int64)) error {
	op := "upload " + dst
	if c.uploadSem != nil {
		select {
		case c.uploadSem <- struct{}{}:
			defer func() { <-c.uploadSem }()
		case <-ctx.Done():
			return c.opErr(op, ctx.Err())
		}
	}
	return c.withSFTP(ctx, op, func(sc *sftp.Client) error {
		f, err := sc.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return err
		}
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return fmt.Errorf("chmod %v: %w", mode, err)
		}
		w := &progressWriter{w: f, progress: progress}
		buf := getUploadBuf(uploadBufSize(c.sftpPacketOf(sc)))
		defer uploadBufs.Put(buf)
		n, err := io.CopyBuffer(w, ctxReader{ctx, src}, *buf)
		if err != nil {
			f.Close()
			return err
		}
		if size >= 0 && n != size {
			f.Close()
			return fmt.Errorf("size mismatch: wrote %d bytes, expected %d", n, size)
		}
		return f.Close()
	})
}

// progressWriter reports bytes written; it also hides the sftp.File's
// ReadFrom so io.CopyBuffer writes in large chunks we can count.
type progressWriter struct {
	w        io.Writer
	n        int64
	progress func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.progress != nil && n > 0 {
		p.progress(p.n)
	}
	return n, err
}

// ctxReader stops a copy when ctx ends; it also hides WriterTo.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(b)
}

// Stat returns the remote file's info; a missing file gives an error
// matching fs.ErrNotExist.
func (c *Client) Stat(ctx context.Context, path string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := c.withSFTP(ctx, "stat "+path, func(sc *sftp.Client) error {
		var e error
		fi, e = sc.Stat(path)
		return e
	})
	return fi, err
}

// ReadFile returns the remote file's contents, at most MaxOutputBytes of
// them: a larger file fails with an *OutputLimitError (stream it with Run
// and RunRequest.Stdout instead).
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, error) {
	var data []byte
	err := c.withSFTP(ctx, "read "+path, func(sc *sftp.Client) error {
		f, err := sc.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(io.LimitReader(f, MaxOutputBytes+1)); err != nil {
			return err
		}
		if buf.Len() > MaxOutputBytes {
			return &OutputLimitError{Stream: "file", Limit: MaxOutputBytes}
		}
		data = buf.Bytes()
		return nil
	})
	return data, err
}

// Rename moves oldpath to newpath, replacing newpath. It uses the
// posix-rename@openssh.com extension (atomic replace) when the server has
// it, and otherwise removes newpath first (not atomic).
func (c *Client) Rename(ctx context.Context, oldpath, newpath string) error {
	return c.withSFTP(ctx, fmt.Sprintf("rename %s to %s", oldpath, newpath), func(sc *sftp.Client) error {
		if _, ok := sc.HasExtension("posix-rename@openssh.com"); ok {
			return sc.PosixRename(oldpath, newpath)
		}
		if err := sc.Remove(newpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return sc.Rename(oldpath, newpath)
	})
}

// Remove deletes a remote file or empty directory.
func (c *Client) Remove(ctx context.Context, path string) error {
	return c.withSFTP(ctx, "remove "+path, func(sc *sftp.Client) error { return sc.Remove(path) })
}

// MkdirAll creates a remote directory and its parents.
func (c *Client) MkdirAll(ctx context.Context, path string) error {
	return c.withSFTP(ctx, "mkdir "+path, func(sc *sftp.Client) error { return sc.MkdirAll(path) })
}

// Chmod changes a remote file's mode.
func (c *Client) Chmod(ctx context.Context, path string, mode fs.FileMode) error {
	return c.withSFTP(ctx, "chmod "+path, func(sc *sftp.Client) error { return sc.Chmod(path, mode) })
}
