//go:build integration

package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// testRunner is the runner of lab 3, shared by the package's integration
// tests (one lab, brought up once; -p 1 keeps packages apart).
var testRunner *Runner

func TestMain(m *testing.M) {
	os.Exit(func() int {
		root, err := labenv.RepoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bin := filepath.Join(root, "bin", "kongctl")
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(os.Stderr, "%v: run make first\n", err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		lab, err := labenv.Up(ctx, LabOptions())
		if err != nil {
			fmt.Fprintln(os.Stderr, "lab up:", err)
			return 1
		}
		out, err := os.MkdirTemp("", "kongctl-faults-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(out)
		testRunner = &Runner{Lab: lab, Kongctl: bin, Dir: out, Soak: "2s", Log: os.Stderr}
		code := m.Run()
		if err := testRunner.Lab.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "lab down:", err)
		}
		return code
	}())
}

func labCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
