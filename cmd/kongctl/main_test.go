package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the scripts' cmp files from what kongctl printed")

// TestMain lets the scripts run the real kongctl: testscript re-executes
// this test binary as "kongctl", which then runs main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"kongctl": main})
}

// TestScripts runs testdata/script/*.txtar: kongctl's commands as a user
// types them, their output and exit codes, for everything that needs no
// lab. Each script runs in a fresh directory with HOME empty, no ssh-agent
// and stdin not a terminal.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exitcode": cmdExitcode, "schema1": cmdSchema1},
	})
}

// cmdExitcode is the script command "exitcode N prog args...": it runs prog
// like exec and fails unless prog exits with code N. stdout and stderr are
// kept for the next stdout/stderr/cmp commands, as after exec.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: run %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with code %d, want %d", args[1], got, want)
	}
}

// cmdSchema1 is the script command "schema1": the last command's stdout is
// one or more JSON objects (a document, or one event per line), each with
// "schema": 1, the version of kongctl's JSON output.
func cmdSchema1(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: schema1")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	n := 0
	for {
		var v struct {
			Schema *int `json:"schema"`
		}
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ts.Fatalf("stdout value %d is not a JSON object: %v", n+1, err)
		}
		n++
		if v.Schema == nil || *v.Schema != 1 {
			ts.Fatalf("stdout value %d has no \"schema\": 1", n)
		}
	}
	if n == 0 {
		ts.Fatalf("stdout holds no JSON")
	}
}
