package sshremote

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pkg/sftp"
)

func TestSFTPPacketSize(t *testing.T) {
	openssh := func(name string) (string, bool) { return "1", name == "limits@openssh.com" }
	other := func(name string) (string, bool) { return "1", name == "posix-rename@openssh.com" }
	if got := sftpPacketSize(openssh); got != 256<<10-1024 {
		t.Errorf("with limits@openssh.com: %d, want %d", got, 256<<10-1024)
	}
	if got := sftpPacketSize(other); got != 32<<10 {
		t.Errorf("without limits@openssh.com: %d, want %d", got, 32<<10)
	}
	for packet, want := range map[int]int{32 << 10: 256 << 10, 256<<10 - 1024: 4 * (256<<10 - 1024), 2 << 20: 2 << 20} {
		if got := uploadBufSize(packet); got != want {
			t.Errorf("uploadBufSize(%d) = %d, want %d", packet, got, want)
		}
	}
}

// largestWrite passes writes on and keeps the largest one's length.
type largestWrite struct {
	io.WriteCloser
	mu  sync.Mutex
	max int
}

func (w *largestWrite) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.max = max(w.max, len(b))
	w.mu.Unlock()
	return w.WriteCloser.Write(b)
}

// TestSizeSFTPReachesTheClient sets the size on a started pkg/sftp client,
// as sftpClient does, and uploads through pkg/sftp's server: the client's
// writes (pkg/sftp writes a packet's data in one piece) are of that size,
// and the file arrives whole.
func TestSizeSFTPReachesTheClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hasExt func(string) (string, bool)
		want   int
	}{
		{"limits@openssh.com", func(n string) (string, bool) { return "1", n == sftpLimitsExtension }, sftpOpenSSHWriteMax},
		{"no extension", func(string) (string, bool) { return "", false }, sftpDefaultPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c2sR, c2sW := io.Pipe()
			s2cR, s2cW := io.Pipe()
			srv, err := sftp.NewServer(struct {
				io.Reader
				io.WriteCloser
			}{c2sR, s2cW})
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve() }()
			w := &largestWrite{WriteCloser: c2sW}
			sc, err := sftp.NewClientPipe(s2cR, w, sftp.UseConcurrentWrites(true))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				s2cR.Close() // ends the client's reader, as a closed session does
				sc.Close()
				<-served
			}()
			packet, err := sizeSFTP(sc, tc.hasExt)
			if err != nil || packet != tc.want {
				t.Fatalf("sizeSFTP = %d, %v; want %d", packet, err, tc.want)
			}
			data := make([]byte, 3*sftpOpenSSHWriteMax+17)
			rand.Read(data)
			dst := filepath.Join(t.TempDir(), "pkg.deb")
			f, err := sc.Create(dst)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, uploadBufSize(packet))
			if _, err := io.CopyBuffer(struct{ io.Writer }{f}, bytes.NewReader(data), buf); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("uploaded file differs (%d bytes, %v)", len(got), err)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.max != tc.want {
				t.Errorf("largest write = %d bytes, want %d", w.max, tc.want)
			}
		})
	}
}
