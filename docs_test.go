package kongctl

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEIsAFrontPage: the README is what a user reads first: short,
// with the two commands on its first screen.
func TestREADMEIsAFrontPage(t *testing.T) {
	lines := readLines(t, "README.md")
	if len(lines) >= 300 {
		t.Errorf("README.md has %d lines, want under 300: move reference to docs/", len(lines))
	}
	first := strings.Join(strings.Fields(strings.Join(lines[:min(len(lines), 25)], " ")), " ")
	for _, cmd := range []string{"make rehearsal", "make test", "not Kong's own `kongctl`"} {
		if !strings.Contains(first, cmd) {
			t.Errorf("README.md's first 25 lines lack %q", cmd)
		}
	}
}

// TestArchitectureNamesEveryFolder: ARCHITECTURE.md has a row for every
// top-level folder of the repository (build artefacts aside).
func TestArchitectureNamesEveryFolder(t *testing.T) {
	b, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{".git": true}
	for _, l := range readLines(t, ".gitignore") {
		if strings.HasPrefix(l, "/") && strings.HasSuffix(l, "/") && strings.Count(l, "/") == 2 {
			ignored[strings.Trim(l, "/")] = true
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || ignored[e.Name()] {
			continue
		}
		n++
		if !strings.Contains(string(b), "| `"+e.Name()+"/") {
			t.Errorf("ARCHITECTURE.md has no row for the folder %s/ (a table row starting with `%s/`)", e.Name(), e.Name())
		}
	}
	if n < 8 {
		t.Errorf("found only %d top-level folders", n)
	}
}

// linkRe matches a markdown link's target: [text](target).
var linkRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks: every relative link in the repository's documents points at
// a file that exists and, with #anchor, at a heading of that file.
func TestDocLinks(t *testing.T) {
	docs, _ := filepath.Glob("docs/*.md")
	docs = append(docs, "README.md", "ARCHITECTURE.md", "TESTING.md", "BENCHMARKS.md")
	for _, doc := range docs {
		inFence := false
		for i, l := range readLines(t, doc) {
			if strings.HasPrefix(l, "```") {
				inFence = !inFence
			}
			if inFence {
				continue
			}
			for _, m := range linkRe.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				path := doc
				if file != "" {
					path = filepath.Join(filepath.Dir(doc), file)
				}
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d: link %s: %v", doc, i+1, target, err)
					continue
				}
				if anchor != "" && !hasAnchor(t, path, anchor) {
					t.Errorf("%s:%d: link %s: %s has no heading with anchor #%s", doc, i+1, target, path, anchor)
				}
			}
		}
	}
}

// hasAnchor reports whether the markdown file at path has a heading whose
// GitHub anchor is anchor.
func hasAnchor(t *testing.T, path, anchor string) bool {
	for _, l := range readLines(t, path) {
		if strings.HasPrefix(l, "#") && slug(strings.TrimLeft(l, "# ")) == anchor {
			return true
		}
	}
	return false
}

// slug is GitHub's anchor for a heading: lower case, punctuation dropped
// (hyphens and underscores kept), spaces as hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
