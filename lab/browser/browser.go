// Package browser loads a page in a real headless browser (Debian's
// chromium) for tests: the DOM after load and what the page wrote on the
// browser's console (errors, blocked loads, Content-Security-Policy
// violations). Network access is cut (every host name resolves to
// nothing), so a page that works offline is what is tested.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Binary is the browser run (Debian's package chromium, installed by
// scripts/install-deps.sh).
const Binary = "chromium"

// Page is a page as the browser loaded it.
type Page struct {
	// DOM is the document serialised after load (--dump-dom).
	DOM string
	// Console is every console message of the page: script errors and
	// logs, refused loads, Content-Security-Policy violations.
	Console []string
	// Log is the browser's whole stderr, for failure messages.
	Log string
}

// Load opens the local file path (file://) in headless chromium.
func Load(ctx context.Context, path string) (*Page, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("load %s in a browser: %s not installed (scripts/install-deps.sh installs it): %w", path, Binary, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load %s in a browser: %w", path, err)
	}
	profile, err := os.MkdirTemp("", "kongctl-chromium-")
	if err != nil {
		return nil, fmt.Errorf("load %s in a browser: %w", path, err)
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir="+profile,
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+abs)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("load %s in %s: %w\n%s", path, Binary, err, tail(errb.String(), 2000))
	}
	p := &Page{DOM: out.String(), Log: errb.String()}
	for _, line := range strings.Split(p.Log, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			p.Console = append(p.Console, strings.TrimSpace(line))
		}
	}
	if strings.TrimSpace(p.DOM) == "" {
		return p, fmt.Errorf("load %s in %s: empty document\n%s", path, Binary, tail(p.Log, 2000))
	}
	return p, nil
}

// Clean is nil when the page wrote nothing on the console (no script
// error, no refused or failed load), else an error quoting what it wrote.
func (p *Page) Clean() error {
	if len(p.Console) == 0 {
		return nil
	}
	return fmt.Errorf("the page wrote on the browser's console:\n%s", strings.Join(p.Console, "\n"))
}

// Hosts returns the data-host attribute of every element of class, in
// document order.
func (p *Page) Hosts(class string) ([]string, error) {
	els, err := p.Elements(class)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(els))
	for _, e := range els {
		out = append(out, e["data-host"])
	}
	return out, nil
}

// Elements returns the attributes of every element of the page whose
// class list holds class, in document order.
func (p *Page) Elements(class string) ([]map[string]string, error) {
	doc, err := html.Parse(strings.NewReader(p.DOM))
	if err != nil {
		return nil, fmt.Errorf("parse the page's dom: %w", err)
	}
	var out []map[string]string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attrs := map[string]string{}
		for _, a := range n.Attr {
			attrs[a.Key] = a.Val
		}
		if slices.Contains(strings.Fields(attrs["class"]), class) {
			out = append(out, attrs)
		}
	}
	return out, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// RequireRows loads the page at path and fails t unless it loaded with
// nothing on the console and the data-host of its elements of class are
// want, in order.
func RequireRows(t testing.TB, path, class string, want []string) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Clean(); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	got, err := p.Hosts(class)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s: %s elements in the browser's DOM for %v (%v), want %v", path, class, got, err, want)
	}
	return p
}
