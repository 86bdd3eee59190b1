package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

func TestParseUpArgs(t *testing.T) {
	a, err := parseUpArgs(strings.Fields("--nodes 32 --from 3.4.2 --to 3.9.1 --bastion 1 --user kongops --hybrid 1 --dps 2 --spares 1 --no-seed --rows 2000"))
	if err != nil {
		t.Fatal(err)
	}
	o := a.opts
	if o.Nodes != 32 || o.From != "3.4.2" || o.To != "3.9.1" || !o.Bastion || o.User != "kongops" || !o.Hybrid || o.DPs != 2 || o.Spares != 1 || !o.NoSeed || o.Rows != 2000 {
		t.Errorf("parsed %+v", o)
	}
	if a, err := parseUpArgs(strings.Fields("--edition enterprise --rbac 1")); err != nil || !a.opts.RBAC {
		t.Errorf("--rbac 1: %+v %v", a.opts, err)
	}
	if a, err := parseUpArgs(strings.Fields("--lb 1")); err != nil || !a.opts.LB {
		t.Errorf("--lb 1: %+v %v", a.opts, err)
	}
	if a, err := parseUpArgs(strings.Fields("--db2 1")); err != nil || !a.opts.DB2 {
		t.Errorf("--db2 1: %+v %v", a.opts, err)
	}
	if a, err := parseUpArgs(strings.Fields("--envconf 1")); err != nil || !a.opts.EnvConf {
		t.Errorf("--envconf 1: %+v %v", a.opts, err)
	}
	if _, err := parseUpArgs([]string{"--bastion", "maybe"}); err == nil {
		t.Error("--bastion maybe accepted")
	}
	if _, err := parseUpArgs([]string{"extra"}); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestLabIDFlag(t *testing.T) {
	t.Setenv(labenv.EnvID, "")
	a, err := parseUpArgs(nil)
	if err != nil || a.opts.ID != 0 {
		t.Errorf("no --id: %d %v, want 0", a.opts.ID, err)
	}
	if a, err = parseUpArgs([]string{"--id", "3"}); err != nil || a.opts.ID != 3 {
		t.Errorf("--id 3: %d %v", a.opts.ID, err)
	}
	for _, bad := range []string{"8", "-1", "two"} {
		if _, err := parseUpArgs([]string{"--id", bad}); err == nil {
			t.Errorf("--id %s accepted", bad)
		}
	}
	r, rest, err := labFlags("down", []string{"--dir", "/x/lab4"})
	if err != nil || r.given || r.dir != "/x/lab4" || len(rest) != 0 {
		t.Errorf("down --dir only: %+v %v %v; want the dir's lab", r, rest, err)
	}
	t.Setenv(labenv.EnvID, "5")
	if r, _, err = labFlags("status", nil); err != nil || !r.given || r.id != 5 {
		t.Errorf("status with %s=5: %+v %v", labenv.EnvID, r, err)
	}
	if r, _, err = labFlags("status", []string{"--id", "2"}); err != nil || r.id != 2 {
		t.Errorf("--id 2 over %s=5: %+v %v", labenv.EnvID, r, err)
	}
	if a, err = parseUpArgs(nil); err != nil || a.opts.ID != 5 {
		t.Errorf("up with %s=5: %d %v", labenv.EnvID, a.opts.ID, err)
	}
	// A lab named by ID must be that lab: a dir holding no lab fails the
	// same way for every command.
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"status", "--id", "7", "--dir", t.TempDir()}, nil, &out, &errb); code != 1 {
		t.Errorf("status of an empty dir: exit %d (stderr %q)", code, errb.String())
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"bogus"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code := Main(context.Background(), []string{"fault", "--dir", "/nonexistent/lab", "cut"}, nil, &out, &errb); code != 1 {
		t.Errorf("fault on a missing lab: exit %d, want 1 (stderr %q)", code, errb.String())
	}
}
