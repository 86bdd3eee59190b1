// Package dist builds kongctl's own release files (make dist): for each
// architecture a .deb and an .rpm (nfpm, through lab/pkgbuild's writer)
// and a tarball, each with the binary, a man page per command and the
// bash, zsh and fish completions, all generated from the command tree;
// then SHA256SUMS over them. Output is reproducible for a given version,
// binary and date (fixed file times and owners, gzip without names).
package dist

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/lab/pkgbuild"
)

// Arches are the architectures make dist builds for (linux).
var Arches = []string{"amd64", "arm64"}

// Options configure Build.
type Options struct {
	Version  string            // as `kongctl version` reports it (git describe or VERSION)
	Binaries map[string]string // arch → kongctl binary built for linux/<arch>
	Out      string            // output directory (build/dist)
	Root     *cobra.Command    // the command tree (cli.CommandTree())
	About    string            // one line: which kongctl this is (cli.About)
	Readme   string            // optional README to ship (tarball, /usr/share/doc/kongctl), with the files its relative links name
	MTime    time.Time         // file times and the man pages' date
	Log      io.Writer         // progress (default io.Discard)
}

// FileNames are the release files for a version and arch, in the order
// Build writes them: kongctl_<v>_<arch>.deb, .rpm, kongctl_<v>_linux_<arch>.tar.gz.
func FileNames(version, arch string) []string {
	return []string{
		fmt.Sprintf("kongctl_%s_%s.deb", version, arch),
		fmt.Sprintf("kongctl_%s_%s.rpm", version, arch),
		fmt.Sprintf("kongctl_%s_linux_%s.tar.gz", version, arch),
	}
}

var releaseTag = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9A-Za-z]+)+)(?:-(.+))?$`)

// PackageVersion turns kongctl's version into one dpkg and rpm accept
// (a digit first, no '-'): v1.2.3 → 1.2.3, v1.2.3-4-gabc1234-dirty →
// 1.2.3+4.gabc1234.dirty; a bare commit (no tag yet) 4be2cc7-dirty →
// 0.0.0+git.4be2cc7.dirty, below any tagged release.
func PackageVersion(v string) string {
	if m := releaseTag.FindStringSubmatch(v); m != nil {
		if m[2] == "" {
			return m[1]
		}
		return m[1] + "+" + strings.ReplaceAll(m[2], "-", ".")
	}
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.':
			return r
		}
		return '.'
	}, v)
	return "0.0.0+git." + strings.Trim(clean, ".")
}

// entry is one file of a package and of the tarball.
type entry struct {
	src   string      // file on disk
	dest  string      // absolute path in the .deb and .rpm
	rpm   string      // dest in the .rpm when it differs
	tar   string      // path in the tarball, under its top directory
	mode  os.FileMode // 0644 unless set
	isDoc bool        // a documentation file (rpm %doc)
}

// Build writes every release file and SHA256SUMS into opts.Out and
// returns their paths (SHA256SUMS last). Earlier kongctl_* files and
// SHA256SUMS there are removed first: the directory holds one version.
func Build(ctx context.Context, opts Options) ([]string, error) {
	if opts.Version == "" || opts.Out == "" || opts.Root == nil {
		return nil, fmt.Errorf("dist: version, output directory and command tree are required")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.MTime.IsZero() {
		opts.MTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	opts.MTime = opts.MTime.UTC()
	for _, arch := range Arches {
		if _, err := os.Stat(opts.Binaries[arch]); err != nil {
			return nil, fmt.Errorf("dist: kongctl binary for linux/%s: %w", arch, err)
		}
	}
	if err := clean(opts.Out); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "kongctl-dist-")
	if err != nil {
		return nil, fmt.Errorf("dist: stage: %w", err)
	}
	defer os.RemoveAll(stage)
	common, err := stageDocs(opts, stage)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, arch := range Arches {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries := append([]entry{{src: opts.Binaries[arch], dest: "/usr/bin/kongctl", tar: "kongctl", mode: 0o755}}, common...)
		names := FileNames(opts.Version, arch)
		for i, format := range []string{"deb", "rpm"} {
			path := filepath.Join(opts.Out, names[i])
			fmt.Fprintf(opts.Log, "dist: building %s\n", path)
			if err := pkgbuild.WriteNFPM(packageInfo(opts, arch, format, entries), format, path); err != nil {
				return nil, fmt.Errorf("dist: %s: %w", names[i], err)
			}
			out = append(out, path)
		}
		path := filepath.Join(opts.Out, names[2])
		fmt.Fprintf(opts.Log, "dist: building %s\n", path)
		top := strings.TrimSuffix(names[2], ".tar.gz")
		if err := writeTarball(path, top, entries, opts.MTime); err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	sums, err := writeSums(opts.Out, out)
	if err != nil {
		return nil, err
	}
	return append(out, sums), nil
}

// clean removes an earlier version's release files from dir.
func clean(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dist: create %s: %w", dir, err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "kongctl_*"))
	for _, p := range append(old, filepath.Join(dir, SumsFile)) {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("dist: remove %s: %w", p, err)
		}
	}
	return nil
}

// stageDocs writes the man pages (gzipped) and completion scripts into
// stage and returns their entries, the same for every architecture.
func stageDocs(opts Options, stage string) ([]entry, error) {
	pages, err := ManPages(opts.Root, "kongctl "+opts.Version, opts.MTime)
	if err != nil {
		return nil, err
	}
	comps, err := Completions(opts.Root)
	if err != nil {
		return nil, err
	}
	var entries []entry
	put := func(e entry, data []byte) error {
		e.src = filepath.Join(stage, filepath.FromSlash(e.tar))
		if err := os.MkdirAll(filepath.Dir(e.src), 0o755); err != nil {
			return fmt.Errorf("dist: stage: %w", err)
		}
		if err := os.WriteFile(e.src, data, 0o644); err != nil {
			return fmt.Errorf("dist: stage: %w", err)
		}
		entries = append(entries, e)
		return nil
	}
	for _, name := range sortedKeys(pages) {
		gz, err := gzipBytes(pages[name])
		if err != nil {
			return nil, fmt.Errorf("dist: compress man page %s: %w", name, err)
		}
		if err := put(entry{dest: "/usr/share/man/man1/" + name + ".1.gz", tar: "man/man1/" + name + ".1.gz", isDoc: true}, gz); err != nil {
			return nil, err
		}
	}
	completions := map[string]entry{
		"bash": {dest: "/usr/share/bash-completion/completions/kongctl", tar: "completions/kongctl.bash"},
		// Debian's zsh reads vendor-completions; Fedora's and EL's site-functions.
		"zsh":  {dest: "/usr/share/zsh/vendor-completions/_kongctl", rpm: "/usr/share/zsh/site-functions/_kongctl", tar: "completions/_kongctl"},
		"fish": {dest: "/usr/share/fish/vendor_completions.d/kongctl.fish", tar: "completions/kongctl.fish"},
	}
	for _, sh := range Shells {
		if err := put(completions[sh], comps[sh]); err != nil {
			return nil, err
		}
	}
	if opts.Readme != "" {
		docs, err := readmeAndLinks(opts.Readme)
		if err != nil {
			return nil, err
		}
		for _, rel := range sortedKeys(docs) {
			if err := put(entry{dest: "/usr/share/doc/kongctl/" + rel, tar: rel, isDoc: true}, docs[rel]); err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
}

// readmeLink is a markdown link's target, up to a fragment.
var readmeLink = regexp.MustCompile(`\]\(([^)#\s]+)`)

// readmeAndLinks reads the README and every file its relative links name
// (docs/*.md, example inventories, ...), keyed by their path relative to
// the README's folder, so the shipped README's links hold. A link to a
// file that does not exist is an error: the README would lie.
func readmeAndLinks(readme string) (map[string][]byte, error) {
	b, err := os.ReadFile(readme)
	if err != nil {
		return nil, fmt.Errorf("dist: read %s: %w", readme, err)
	}
	docs := map[string][]byte{"README.md": b}
	dir := filepath.Dir(readme)
	for _, m := range readmeLink.FindAllSubmatch(b, -1) {
		if strings.Contains(string(m[1]), ":") { // https://, mailto:
			continue
		}
		rel := filepath.ToSlash(filepath.Clean(string(m[1])))
		if docs[rel] != nil {
			continue
		}
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("dist: %s links to %s, outside the package's documentation", readme, m[1])
		}
		f, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("dist: %s links to %s: %w", readme, m[1], err)
		}
		docs[rel] = f
	}
	return docs, nil
}

// packageInfo describes kongctl's package for one arch and format.
func packageInfo(opts Options, arch, format string, entries []entry) *nfpm.Info {
	var contents files.Contents
	for _, e := range entries {
		dest := e.dest
		if format == "rpm" && e.rpm != "" {
			dest = e.rpm
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		c := &files.Content{Source: e.src, Destination: dest,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: opts.MTime}}
		if e.isDoc && format == "rpm" {
			c.Type = files.TypeRPMDoc
		}
		contents = append(contents, c)
	}
	desc := "Kong Gateway fleet upgrade tool"
	if opts.About != "" {
		desc = "kongctl: " + opts.About
	}
	desc += ".\nIt upgrades Kong Gateway nodes in place over SSH from a bastion, driving Kong's\n" +
		"documented procedure: freeze, verified backup, stop, install, migrations on\none node, start, verify, and rollback."
	return &nfpm.Info{
		Name:          "kongctl",
		Arch:          arch,
		Platform:      "linux",
		Version:       PackageVersion(opts.Version),
		VersionSchema: "none",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    "kongctl <kongctl@kongctl.invalid>",
		Description:   desc,
		Vendor:        "kongctl",
		MTime:         opts.MTime,
		Overridables: nfpm.Overridables{
			Contents: contents,
			// gzip at level 6, not nfpm's 9: a few percent larger, much faster.
			Deb: nfpm.Deb{Compression: "gzip:6"},
			RPM: nfpm.RPM{Compression: "gzip:6", BuildHost: "kongctl-dist", Group: "Applications/System", Summary: "Kong Gateway fleet upgrade tool (in-place, over SSH)"},
		},
	}
}
