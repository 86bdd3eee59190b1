// Package pkgbuild builds the Kong simulator's .deb and .rpm packages, one
// per simulated release, with nfpm. Binaries are cached per source hash and
// packages are rebuilt only when their inputs change, so `make packages` is
// cheap when up to date. Output is reproducible (fixed mtimes, -trimpath,
// empty build id).
package pkgbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager

	"github.com/kongctl/kongctl/internal/fanout"
	"github.com/kongctl/kongctl/internal/filehash"
	"github.com/kongctl/kongctl/lab/kongsim"
)

// Options configure Build.
type Options struct {
	Out        string            // output dir (build/packages)
	CacheDir   string            // binary cache (default <Out>/../cache/kongsim)
	ModuleRoot string            // repository root (default: found from the cwd)
	Releases   []kongsim.Release // default kongsim.Releases
	Formats    []string          // default deb, rpm
	Log        io.Writer         // progress (default io.Discard)
	MTime      time.Time         // file times (default 2024-01-01 UTC)
}

// Package is one built (or up-to-date) package file.
type Package struct {
	Release kongsim.Release
	Format  string
	Path    string
	Rebuilt bool
}

// FileName is kong_<version>_amd64.<format> (or
// kong-enterprise-edition_<version>_amd64.<format>).
func FileName(rel kongsim.Release, format string) string {
	return fmt.Sprintf("%s_%s_amd64.%s", rel.PackageName(), rel.Version, format)
}

// FindModuleRoot walks up from dir to the directory holding go.mod.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("pkgbuild: no go.mod above %s", dir)
		}
		dir = parent
	}
}

// SourceHash hashes what the simulator binary is built from.
func SourceHash(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), "linux", "amd64")
	var paths []string
	for _, dir := range []string{"lab/kongsim", "lab/cmd/kong"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("pkgbuild: hash sources: %w", err)
		}
	}
	paths = append(paths, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	sort.Strings(paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("pkgbuild: hash sources: %w", err)
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// BuildBinary compiles lab/cmd/kong for a release (linux/amd64, static,
// reproducible) into out.
func BuildBinary(ctx context.Context, root string, rel kongsim.Release, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", rel.LDFlags(), "-o", tmp, "./lab/cmd/kong")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pkgbuild: go build kong %s: %w: %s", rel.Version, err, stderr.String())
	}
	return os.Rename(tmp, out)
}

// CachedBinary returns the cached simulator binary for a release, building
// it when the sources changed.
func CachedBinary(ctx context.Context, root, cacheDir string, rel kongsim.Release) (string, error) {
	key, err := SourceHash(root)
	if err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, key, "kong-"+rel.Version)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := BuildBinary(ctx, root, rel, out); err != nil {
		return "", err
	}
	return out, nil
}

// cachedBinaries is CachedBinary for every release, one per CPU at once:
// after a source change each release's link is most of `make packages`.
func cachedBinaries(ctx context.Context, root, cacheDir string, rels []kongsim.Release) ([]string, error) {
	bins := make([]string, len(rels))
	idx := make([]int, len(rels))
	for i := range idx {
		idx[i] = i
	}
	errs := fanout.Each(ctx, idx, runtime.NumCPU(), func(ctx context.Context, i int) error {
		b, err := CachedBinary(ctx, root, cacheDir, rels[i])
		bins[i] = b
		return err
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return bins, nil
}

// Build writes every package into opts.Out, skipping those whose inputs
// did not change.
func Build(ctx context.Context, opts Options) ([]Package, error) {
	if opts.ModuleRoot == "" {
		root, err := FindModuleRoot(".")
		if err != nil {
			return nil, err
		}
		opts.ModuleRoot = root
	}
	if opts.Out == "" {
		opts.Out = filepath.Join(opts.ModuleRoot, "build", "packages")
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(filepath.Dir(opts.Out), "cache", "kongsim")
	}
	if opts.Releases == nil {
		opts.Releases = kongsim.Releases
	}
	if opts.Formats == nil {
		opts.Formats = []string{"deb", "rpm"}
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.MTime.IsZero() {
		opts.MTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("pkgbuild: create %s: %w", opts.Out, err)
	}
	bins, err := cachedBinaries(ctx, opts.ModuleRoot, opts.CacheDir, opts.Releases)
	if err != nil {
		return nil, err
	}
	var out []Package
	for i, rel := range opts.Releases {
		bin := bins[i]
		binSum, err := filehash.SHA256(bin)
		if err != nil {
			return nil, err
		}
		gen := generated(rel)
		for _, format := range opts.Formats {
			path := filepath.Join(opts.Out, FileName(rel, format))
			stamp := inputsKey(rel, format, binSum, gen, opts.MTime)
			stampFile := filepath.Join(opts.Out, ".stamps", FileName(rel, format)+".key")
			if old, err := os.ReadFile(stampFile); err == nil && string(old) == stamp {
				if _, err := os.Stat(path); err == nil {
					out = append(out, Package{Release: rel, Format: format, Path: path})
					continue
				}
			}
			fmt.Fprintf(opts.Log, "kongpkg: building %s\n", path)
			if err := writePackage(rel, format, bin, gen, opts.MTime, path); err != nil {
				return nil, err
			}
			_ = os.MkdirAll(filepath.Dir(stampFile), 0o755)
			if err := os.WriteFile(stampFile, []byte(stamp), 0o644); err != nil {
				return nil, fmt.Errorf("pkgbuild: write %s: %w", stampFile, err)
			}
			out = append(out, Package{Release: rel, Format: format, Path: path, Rebuilt: true})
		}
	}
	return out, nil
}

// layoutVersion changes when writePackage changes what it packs.
const layoutVersion = "4"

func inputsKey(rel kongsim.Release, format, binSum string, gen map[string]string, mtime time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s %s %s %s %d\n", layoutVersion, rel.Version, rel.Edition, format, binSum, mtime.Unix())
	keys := make([]string, 0, len(gen))
	for k := range gen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s %d\n%s", k, len(gen[k]), gen[k])
	}
	fmt.Fprint(h, postinstall)
	return hex.EncodeToString(h.Sum(nil))
}

func writePackage(rel kongsim.Release, format, bin string, gen map[string]string, mtime time.Time, path string) error {
	stage, err := os.MkdirTemp("", "kongpkg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	fi := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}
	}
	contents := files.Contents{
		{Source: bin, Destination: "/usr/local/bin/kong", FileInfo: fi(0o755)},
		{Source: "/usr/local/bin/kong", Destination: "/usr/local/openresty/nginx/sbin/nginx", Type: files.TypeSymlink, FileInfo: fi(0o777)},
	}
	dests := make([]string, 0, len(gen))
	for d := range gen {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for i, dst := range dests {
		src := filepath.Join(stage, fmt.Sprintf("f%03d", i))
		if err := os.WriteFile(src, []byte(gen[dst]), 0o644); err != nil {
			return err
		}
		c := &files.Content{Source: src, Destination: dst, FileInfo: fi(0o644)}
		switch {
		case dst == "/etc/kong/kong.conf.default":
			c.Type = files.TypeConfig
		case dst == "/etc/kong/kong.logrotate":
			c.Type = files.TypeConfigNoReplace
		case strings.HasPrefix(dst, "/usr/local/bin/"):
			c.FileInfo.Mode = 0o755
		}
		contents = append(contents, c)
	}
	post := filepath.Join(stage, "postinstall.sh")
	if err := os.WriteFile(post, []byte(postinstall), 0o755); err != nil {
		return err
	}
	conflicts := []string{"kong-community-edition", "kong-enterprise-edition-fips"}
	provides := []string{"kong", "luarocks"}
	desc := "Kong is a distributed gateway for APIs and Microservices, focused on high performance and reliability. (simulator)"
	if rel.EE() {
		conflicts = []string{"kong", "kong-community-edition", "kong-enterprise-edition-fips"}
		provides = []string{"kong-enterprise-edition"}
		desc = "Kong Enterprise Edition (simulator)"
	}
	info := &nfpm.Info{
		Name:          rel.PackageName(),
		Arch:          "amd64",
		Platform:      "linux",
		Version:       rel.Version,
		VersionSchema: "none",
		Section:       "default",
		Priority:      "extra",
		Maintainer:    "kongctl lab <lab@kongctl.invalid>",
		Description:   desc,
		Vendor:        "kongctl lab",
		Homepage:      "https://konghq.com",
		License:       "Apache-2.0",
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			Conflicts: conflicts,
			Replaces:  conflicts,
			Provides:  provides,
			Contents:  contents,
			Scripts:   nfpm.Scripts{PostInstall: post},
			// gzip at its fastest level: compressing the binary is most
			// of a package's build, and a lab package's size is moot.
			Deb: nfpm.Deb{Compression: "gzip:1"},
			RPM: nfpm.RPM{BuildHost: "kongctl-lab", Group: "Unspecified", Summary: "Kong simulator", Compression: "gzip:1"},
		},
	}
	return WriteNFPM(info, format, path)
}
