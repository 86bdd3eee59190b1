package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kongctl/kongctl/internal/filehash"
)

// SumsFile lists the SHA-256 of every release file, as sha256sum -c reads it.
const SumsFile = "SHA256SUMS"

// gzipBytes compresses b without a name or time in the header.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeTarball writes entries under top/ into a .tar.gz at dst, with
// their directories, root-owned and dated mtime.
func writeTarball(dst, top string, entries []entry, mtime time.Time) error {
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("dist: create %s: %w", tmp, err)
	}
	err = fillTarball(f, top, entries, mtime)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dist: write %s: %w", dst, err)
	}
	return os.Rename(tmp, dst)
}

func fillTarball(w io.Writer, top string, entries []entry, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].tar < sorted[j].tar })
	dirs := map[string]bool{}
	var addDir func(d string) error
	addDir = func(d string) error {
		if d == "." || dirs[d] {
			return nil
		}
		if err := addDir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX})
	}
	for _, e := range sorted {
		name := path.Join(top, e.tar)
		if err := addDir(path.Dir(name)); err != nil {
			return err
		}
		b, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: int64(len(b)), ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// writeSums writes SHA256SUMS for paths (all in dir) and returns its path.
func writeSums(dir string, paths []string) (string, error) {
	var lines []string
	for _, p := range paths {
		sum, err := filehash.SHA256(p)
		if err != nil {
			return "", fmt.Errorf("dist: checksum %s: %w", p, err)
		}
		lines = append(lines, sum+"  "+filepath.Base(p)+"\n")
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	out := filepath.Join(dir, SumsFile)
	if err := os.WriteFile(out, []byte(strings.Join(lines, "")), 0o644); err != nil {
		return "", fmt.Errorf("dist: write %s: %w", out, err)
	}
	return out, nil
}

// ReadTarball calls fn with each entry of a .tar.gz and, for regular
// files, their contents (nil for the rest), in archive order.
func ReadTarball(path string, fn func(h *tar.Header, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("dist: %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dist: %s: %w", path, err)
		}
		var data []byte
		if h.Typeflag == tar.TypeReg {
			if data, err = io.ReadAll(tr); err != nil {
				return fmt.Errorf("dist: %s: %s: %w", path, h.Name, err)
			}
		}
		if err := fn(h, data); err != nil {
			return err
		}
	}
}
