package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/cli"
)

func TestPackageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                  "1.2.3",
		"1.2.3":                   "1.2.3",
		"v1.2.3-4-gabc1234":       "1.2.3+4.gabc1234",
		"v1.2.3-4-gabc1234-dirty": "1.2.3+4.gabc1234.dirty",
		"v2.0.0-rc1":              "2.0.0+rc1",
		"4be2cc7":                 "0.0.0+git.4be2cc7",
		"4be2cc7-dirty":           "0.0.0+git.4be2cc7.dirty",
		"abcdef0":                 "0.0.0+git.abcdef0",
		"dev":                     "0.0.0+git.dev",
	} {
		if got := PackageVersion(in); got != want {
			t.Errorf("PackageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBuild builds the release files from stand-in binaries and the real
// command tree: every file is named as make dist promises, SHA256SUMS holds
// their sums, each .deb, .rpm and tarball carries the binary, a man page
// per command and the three completion scripts (the same text `kongctl
// completion SHELL` prints), and a second build is byte-identical.
func TestBuild(t *testing.T) {
	bins := map[string]string{}
	dir := t.TempDir()
	for _, arch := range Arches {
		bins[arch] = filepath.Join(dir, "kongctl-linux-"+arch)
		if err := os.WriteFile(bins[arch], []byte("#!/bin/sh\necho kongctl "+arch+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("# kongctl\nSee [the guide](docs/guide.md#first), [again](docs/guide.md) and [Kong](https://docs.konghq.com/).\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docs", "guide.md"), []byte("# guide\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// A file of an earlier version goes; other files stay.
	for _, f := range []string{"kongctl_0.9.0_amd64.deb", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(out, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Version: "v1.2.3-4-gabc1234", Binaries: bins, Out: out, Readme: readme,
		Root: cli.CommandTree(), About: cli.About, MTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	paths, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, arch := range Arches {
		for _, n := range FileNames(opts.Version, arch) {
			want = append(want, filepath.Join(out, n))
		}
	}
	want = append(want, filepath.Join(out, SumsFile))
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("built:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(out, "kongctl_0.9.0_amd64.deb")); !os.IsNotExist(err) {
		t.Errorf("the earlier version's package is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
		t.Errorf("an unrelated file was removed: %v", err)
	}

	sums := checkSums(t, out)
	if len(sums) != 6 {
		t.Fatalf("SHA256SUMS lists %d files, want 6", len(sums))
	}

	pages, err := ManPages(cli.CommandTree(), "kongctl "+opts.Version, opts.MTime)
	if err != nil {
		t.Fatal(err)
	}
	var manFiles []string
	for _, name := range []string{"kongctl", "kongctl-upgrade", "kongctl-rollback", "kongctl-plan", "kongctl-status",
		"kongctl-unlock", "kongctl-version", "kongctl-inventory-vagrant", "kongctl-completion-bash"} {
		if !strings.HasPrefix(string(pages[name]), ".nh\n.TH \""+strings.ToUpper(name)+"\" \"1\"") {
			t.Errorf("man page %s:\n%.200s", name, pages[name])
		}
	}
	for name := range pages {
		manFiles = append(manFiles, "/usr/share/man/man1/"+name+".1.gz")
	}
	if !strings.Contains(string(pages["kongctl-upgrade"]), `\fB--yes\fP`) {
		t.Errorf("kongctl-upgrade(1) does not document --yes:\n%s", pages["kongctl-upgrade"])
	}
	comp := map[string]string{}
	for _, sh := range Shells {
		var stdout, stderr bytes.Buffer
		if code := cli.Main(context.Background(), []string{"completion", sh}, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("kongctl completion %s: exit %d: %s", sh, code, stderr.String())
		}
		comp[sh] = stdout.String()
	}

	common := append([]string{"/usr/bin/kongctl", "/usr/share/bash-completion/completions/kongctl",
		"/usr/share/fish/vendor_completions.d/kongctl.fish", "/usr/share/doc/kongctl/README.md",
		"/usr/share/doc/kongctl/docs/guide.md"}, manFiles...)
	for _, arch := range Arches {
		names := FileNames(opts.Version, arch)
		deb := filepath.Join(out, names[0])
		info := run(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture")
		if info != "Package: kongctl\nVersion: 1.2.3+4.gabc1234\nArchitecture: "+arch+"\n" {
			t.Errorf("%s control:\n%s", names[0], info)
		}
		hasAll(t, names[0], run(t, "dpkg-deb", "-c", deb), append(common, "/usr/share/zsh/vendor-completions/_kongctl"))
		rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
		rpm := filepath.Join(out, names[1])
		if got := run(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{ARCH}", rpm); got != "kongctl 1.2.3+4.gabc1234 "+rpmArch {
			t.Errorf("%s: %s", names[1], got)
		}
		hasAll(t, names[1], run(t, "rpm", "-qlp", rpm), append(common, "/usr/share/zsh/site-functions/_kongctl"))

		files := readTarball(t, filepath.Join(out, names[2]))
		top := "kongctl_v1.2.3-4-gabc1234_linux_" + arch + "/"
		if got := files[top+"kongctl"]; got != "#!/bin/sh\necho kongctl "+arch+"\n" {
			t.Errorf("%s: the binary is %q", names[2], got)
		}
		for sh, p := range map[string]string{"bash": "completions/kongctl.bash", "zsh": "completions/_kongctl", "fish": "completions/kongctl.fish"} {
			if files[top+p] != comp[sh] {
				t.Errorf("%s: %s differs from `kongctl completion %s`", names[2], p, sh)
			}
		}
		for name, page := range pages {
			if gunzip(t, files[top+"man/man1/"+name+".1.gz"]) != string(page) {
				t.Errorf("%s: man page %s missing or different", names[2], name)
			}
		}
		if files[top+"docs/guide.md"] != "# guide\n" {
			t.Errorf("%s: docs/guide.md, which the README links to, is %q", names[2], files[top+"docs/guide.md"])
		}
	}

	if _, err := Build(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if again := checkSums(t, out); strings.Join(again, "") != strings.Join(sums, "") {
		t.Errorf("a second build differs:\n%s\nthen:\n%s", strings.Join(sums, ""), strings.Join(again, ""))
	}
}

// A README whose link names a missing file is refused: the shipped README
// would lie.
func TestBuildRefusesReadmeWithDeadLink(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("[x](docs/missing.md)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "kongctl")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Build(context.Background(), Options{Version: "v1.0.0", Out: t.TempDir(), Root: cli.CommandTree(),
		Binaries: map[string]string{"amd64": bin, "arm64": bin}, Readme: readme})
	if err == nil || !strings.Contains(err.Error(), "links to docs/missing.md") {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildRefusesMissingBinary(t *testing.T) {
	_, err := Build(context.Background(), Options{Version: "v1.0.0", Out: t.TempDir(), Root: cli.CommandTree(),
		Binaries: map[string]string{"amd64": "/nonexistent/kongctl"}})
	if err == nil || !strings.Contains(err.Error(), "kongctl binary for linux/amd64") {
		t.Fatalf("err = %v", err)
	}
}

// checkSums verifies SHA256SUMS in dir and returns its lines.
func checkSums(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, l := range lines {
		sum, name, ok := strings.Cut(strings.TrimSuffix(l, "\n"), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", l)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
	}
	return lines
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// hasAll checks that a listing (dpkg-deb -c, rpm -qlp: the path last on
// each line, "./usr/..." or "/usr/...") names every path.
func hasAll(t *testing.T, what, listing string, paths []string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(listing, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			have[strings.TrimPrefix(f[len(f)-1], ".")] = true
		}
	}
	for _, p := range paths {
		if !have[p] {
			t.Errorf("%s lacks %s:\n%s", what, p, listing)
		}
	}
}

// readTarball returns a .tar.gz's regular files, checking they are root's.
func readTarball(t *testing.T, p string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := ReadTarball(p, func(h *tar.Header, data []byte) error {
		if h.Uname != "root" || h.Uid != 0 {
			t.Errorf("%s: %s owned by %s (%d)", p, h.Name, h.Uname, h.Uid)
		}
		if h.Typeflag == tar.TypeReg {
			files[h.Name] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		return "not gzip: " + err.Error()
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
