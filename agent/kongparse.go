package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// The texts `kong migrations` prints (kong-reference.md 1.3). The parser
// recognises these and nothing else: any other line is an error of code
// CodeUnparsed carrying the raw output.
const (
	msgAborted          = "aborted: another node is performing database changes"
	msgNeedsBootstrap   = "Database needs bootstrapping or is older than Kong 1.0."
	msgAlreadyUpToDate  = "Database is already up-to-date"
	msgUpToDate         = "Database is up-to-date"
	msgNoPending        = "No pending migrations to finish"
	msgNewAvailable     = "New migrations available; run 'kong migrations up' to proceed"
	msgPendingAfterUp   = "Database has pending migrations; run 'kong migrations finish' when ready"
	msgPendingRefuse    = "Database has pending migrations; run 'kong migrations finish'"
	msgCannotRun        = "Cannot run migrations"
	msgDBUnreachable    = "failed to retrieve PostgreSQL server_version_num"
	msgLockTimeout      = "[PostgreSQL error] timeout"
	secExecuted         = "Executed migrations:"
	secPending          = "Pending migrations:"
	secNew              = "New migrations available:"
	runUp               = "Run 'kong migrations up' to proceed"
	runFinish           = "Run 'kong migrations finish' when ready"
	runFinishPendingNew = "Run 'kong migrations finish' when ready to complete pending migrations"
)

var (
	reSubsystemLine = regexp.MustCompile(`^\s*([A-Za-z0-9_.-]+): (\S.*)$`)
	reMigrating     = regexp.MustCompile(`^migrating (\S+)(?: on database '[^']*')?\.\.\.$`)
	reMigratedUpTo  = regexp.MustCompile(`^(\S+) migrated up to: (\S+) \((executed|pending)\)$`)
	reProcessed     = regexp.MustCompile(`^(\d+) migrations? processed$`)
	reCountExecuted = regexp.MustCompile(`^(\d+) executed$`)
	reCountPending  = regexp.MustCompile(`^(\d+) pending$`)
	rePrefixCreate  = regexp.MustCompile(`^prefix directory .* not found, trying to create it$`)
)

// unparsed is the error for output the parser does not know.
func unparsed(what, why string, exit int, stdout, stderr string) error {
	return agentproto.Errorf(agentproto.CodeUnparsed,
		"kong migrations %s: %s (exit %d); stdout:\n%s\nstderr:\n%s", what, why, exit, clip(stdout, 2048), clip(stderr, 2048))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// kongError classifies a kong CLI failure (exit 1, `Error: ...` on stderr).
func kongError(what string, exit int, stdout, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if i := strings.Index(msg, "Error: "); i >= 0 {
		msg = msg[i+len("Error: "):]
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), "Run with --v (verbose) or --vv (debug) for more details")
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = strings.TrimSpace(stdout)
	}
	switch {
	case strings.Contains(stderr, msgDBUnreachable):
		return agentproto.Errorf(agentproto.CodeDBUnreachable, "kong migrations %s (exit %d): %s", what, exit, msg)
	case strings.Contains(stderr, msgLockTimeout):
		return agentproto.Errorf(agentproto.CodeLockHeld, "kong migrations %s (exit %d): timed out waiting for the migrations lock: %s", what, exit, msg)
	}
	return agentproto.Errorf(agentproto.CodeKongFailed, "kong migrations %s (exit %d): %s", what, exit, msg)
}

// splitLines splits output into lines without the trailing newline.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(s, "\n")
}

// parseList parses `kong migrations list`.
func parseList(stdout, stderr string, exit int) (agentproto.MigrationState, error) {
	st := agentproto.MigrationState{ExitCode: exit}
	switch exit {
	case 0, 3, 4, 5:
	case 1:
		return st, kongError("list", exit, stdout, stderr)
	default:
		return st, agentproto.Errorf(agentproto.CodeKongFailed, "kong migrations list: unexpected exit %d; stdout:\n%s\nstderr:\n%s", exit, clip(stdout, 2048), clip(stderr, 2048))
	}
	if strings.Contains(stdout, msgAborted) {
		return st, agentproto.Errorf(agentproto.CodeAborted, "kong migrations list: %s", msgAborted)
	}
	if exit == 3 {
		if !strings.Contains(stdout, msgNeedsBootstrap) {
			return st, unparsed("list", "exit 3 without the needs-bootstrap message", exit, stdout, stderr)
		}
		st.NeedsBootstrap = true
		return st, nil
	}
	var section *[]agentproto.SubsystemMigrations
	seen := map[string]bool{}
	for _, raw := range splitLines(stdout) {
		line := strings.TrimRight(raw, " \t")
		switch {
		case line == "":
			section = nil
		case line == secExecuted, line == secPending, line == secNew:
			if seen[line] {
				return st, unparsed("list", "section "+strconv.Quote(line)+" twice", exit, stdout, stderr)
			}
			seen[line] = true
			switch line {
			case secExecuted:
				section = &st.Executed
			case secPending:
				section = &st.Pending
			default:
				section = &st.New
			}
		case line == runUp, line == runFinish, strings.HasPrefix(line, runFinishPendingNew):
			section = nil
		case rePrefixCreate.MatchString(line):
		case section != nil && reSubsystemLine.MatchString(line):
			m := reSubsystemLine.FindStringSubmatch(line)
			var names []string
			for _, n := range strings.Split(m[2], ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			*section = append(*section, agentproto.SubsystemMigrations{Subsystem: m[1], Migrations: names})
		default:
			return st, unparsed("list", "unknown line "+strconv.Quote(line), exit, stdout, stderr)
		}
	}
	// The exit code and the sections must agree (reference 1.3).
	var ok bool
	switch exit {
	case 0:
		ok = len(st.Pending) == 0 && len(st.New) == 0
	case 4:
		ok = len(st.Pending) > 0
	case 5:
		ok = len(st.Pending) == 0 && len(st.New) > 0
	}
	if !ok {
		return st, unparsed("list", fmt.Sprintf("exit %d does not match %d pending and %d new subsystems", exit, len(st.Pending), len(st.New)), exit, stdout, stderr)
	}
	return st, nil
}

// parseStatus parses `kong migrations status` (3.0+): one JSON line.
func parseStatus(stdout, stderr string, exit int) (agentproto.MigrationState, error) {
	st := agentproto.MigrationState{ExitCode: -1}
	if exit != 0 {
		return st, kongError("status", exit, stdout, stderr)
	}
	type entry struct {
		Subsystem  string   `json:"subsystem"`
		Namespace  string   `json:"namespace"`
		Migrations []string `json:"migrations"`
	}
	var doc struct {
		NeedsBootstrap *bool   `json:"needs_bootstrap"`
		Executed       []entry `json:"executed_migrations"`
		Pending        []entry `json:"pending_migrations"`
		New            []entry `json:"new_migrations"`
		Missing        []entry `json:"missing_migrations"`
	}
	// Skip info lines before the JSON (prefix creation).
	text := strings.TrimSpace(stdout)
	if i := strings.IndexByte(text, '{'); i > 0 {
		for _, l := range splitLines(text[:i]) {
			if l = strings.TrimSpace(l); l != "" && !rePrefixCreate.MatchString(l) {
				return st, unparsed("status", "unknown line "+strconv.Quote(l), exit, stdout, stderr)
			}
		}
		text = text[i:]
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil || doc.NeedsBootstrap == nil {
		why := "no needs_bootstrap key"
		if err != nil {
			why = "not JSON: " + err.Error()
		}
		return st, unparsed("status", why, exit, stdout, stderr)
	}
	conv := func(es []entry) []agentproto.SubsystemMigrations {
		var out []agentproto.SubsystemMigrations
		for _, e := range es {
			if len(e.Migrations) > 0 {
				out = append(out, agentproto.SubsystemMigrations{Subsystem: e.Subsystem, Migrations: e.Migrations})
			}
		}
		return out
	}
	st.NeedsBootstrap = *doc.NeedsBootstrap
	st.Executed, st.Pending, st.New = conv(doc.Executed), conv(doc.Pending), conv(doc.New)
	return st, nil
}

// runOutput is what `kong migrations up|finish` printed, parsed.
type runOutput struct {
	Processed, Executed, Pending int
	AlreadyDone                  bool // already up-to-date / no pending to finish
	NewAvailable                 bool // finish: up not run yet
	PendingAfterUp               bool
}

// parseRun parses `kong migrations up` or `finish`. "aborted: another node
// is performing database changes" is an error of code CodeAborted even with
// exit 0.
func parseRun(what, stdout, stderr string, exit int) (runOutput, error) {
	var r runOutput
	if strings.Contains(stdout, msgAborted) || strings.Contains(stderr, msgAborted) {
		return r, agentproto.Errorf(agentproto.CodeAborted, "kong migrations %s (exit %d): %s", what, exit, msgAborted)
	}
	if exit != 0 {
		return r, kongError(what, exit, stdout, stderr)
	}
	var migrated []string
	for _, raw := range splitLines(stdout) {
		line := strings.TrimSpace(raw)
		var m []string
		switch {
		case line == "":
		case line == msgAlreadyUpToDate && what == agentproto.MigUp:
			r.AlreadyDone = true
		case line == msgNoPending && what == agentproto.MigFinish:
			r.AlreadyDone = true
		case line == msgNewAvailable && what == agentproto.MigFinish:
			r.NewAvailable = true
		case line == msgPendingAfterUp && what == agentproto.MigUp:
			r.PendingAfterUp = true
		case line == msgUpToDate:
		case rePrefixCreate.MatchString(line):
		case reMigrating.MatchString(line):
		case reMigratedUpTo.MatchString(line):
			migrated = append(migrated, line)
		case reProcessed.MatchString(line):
			m = reProcessed.FindStringSubmatch(line)
			r.Processed, _ = strconv.Atoi(m[1])
		case reCountExecuted.MatchString(line):
			m = reCountExecuted.FindStringSubmatch(line)
			r.Executed, _ = strconv.Atoi(m[1])
		case reCountPending.MatchString(line):
			m = reCountPending.FindStringSubmatch(line)
			r.Pending, _ = strconv.Atoi(m[1])
		default:
			return r, unparsed(what, "unknown line "+strconv.Quote(line), exit, stdout, stderr)
		}
	}
	if r.Processed != len(migrated) || r.Executed+r.Pending != r.Processed {
		return r, unparsed(what, fmt.Sprintf("counts disagree: %d processed, %d migrated lines, %d executed, %d pending", r.Processed, len(migrated), r.Executed, r.Pending), exit, stdout, stderr)
	}
	if r.Processed == 0 && !r.AlreadyDone && !r.NewAvailable {
		return r, unparsed(what, "no migration ran and no known status line", exit, stdout, stderr)
	}
	return r, nil
}
