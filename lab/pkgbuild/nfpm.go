package pkgbuild

import (
	"fmt"
	"os"

	"github.com/goreleaser/nfpm/v2"
)

// WriteNFPM writes the package info describes in format (deb, rpm) to path,
// atomically (a .tmp beside it, renamed when complete). The simulator's
// packages and kongctl's own (lab/dist) are written through it.
func WriteNFPM(info *nfpm.Info, format, path string) error {
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return fmt.Errorf("pkgbuild: prepare %s %s %s: %w", info.Name, info.Version, format, err)
	}
	pkger, err := nfpm.Get(format)
	if err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("pkgbuild: create %s: %w", tmp, err)
	}
	if err := pkger.Package(info, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("pkgbuild: package %s %s %s: %w", info.Name, info.Version, format, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pkgbuild: write %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}
