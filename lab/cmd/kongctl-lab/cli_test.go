package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseUpArgs(t *testing.T) {
	a, err := parseUpArgs(strings.Fields("--nodes 32 --from 3.4.2 --to 3.9.1 --bastion 1 --user kongops --hybrid 1 --dps 2 --spares 1 --no-seed"))
	if err != nil {
		t.Fatal(err)
	}
	o := a.opts
	if o.Nodes != 32 || o.From != "3.4.2" || o.To != "3.9.1" || !o.Bastion || o.User != "kongops" || !o.Hybrid || o.DPs != 2 || o.Spares != 1 || !o.NoSeed {
		t.Errorf("parsed %+v", o)
	}
	if _, err := parseUpArgs([]string{"--bastion", "maybe"}); err == nil {
		t.Error("--bastion maybe accepted")
	}
	if _, err := parseUpArgs([]string{"extra"}); err == nil {
		t.Error("stray argument accepted")
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
