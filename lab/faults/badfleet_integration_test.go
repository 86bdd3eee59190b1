//go:build integration

package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/lab/labenv"
)

// findingCodes returns the codes of the error findings in kongctl's JSON
// events, and whether any Kong node was stopped.
func findingCodes(t *testing.T, events []byte) (codes []string, stopped bool) {
	t.Helper()
	for _, l := range strings.Split(string(events), "\n") {
		var ev struct {
			Type, Severity, Code, Phase string
		}
		if json.Unmarshal([]byte(l), &ev) != nil {
			continue
		}
		if ev.Type == "finding" && ev.Severity == "error" {
			codes = append(codes, ev.Code)
		}
		if ev.Type == "phase_start" && ev.Phase == "stop" {
			stopped = true
		}
	}
	return codes, stopped
}

// TestBadFleetRefusedOnLab: a node on another Kong version than the rest,
// and a database with pending migrations from an older, unfinished
// upgrade, are refused by the upgrade before any change (exit 1, the
// finding named, nothing stopped, the database unchanged), on the lab with
// the real packages and simulator.
func TestBadFleetRefusedOnLab(t *testing.T) {
	ctx := labCtx(t, 10*time.Minute)
	pkg := func(v string) string {
		return filepath.Join(testRunner.Lab.NodePackagesDir(), fmt.Sprintf("kong_%s_amd64.deb", v))
	}
	from, to := testRunner.Lab.Options().From, testRunner.Lab.Options().To
	for _, tc := range []struct {
		name, code string
		setup      string // on the host below
		host       string
	}{
		// kong-2 gets Y installed while the others run X.
		{"node on another version", "mixed-versions", "dpkg -i " + shellquote.Quote(pkg(to)) + " >/dev/null", otherNode},
		// The upgrade that brought the fleet to X (2.7 → 2.8) ran `up`
		// but never `finish`: X's last migration is still pending in
		// schema_meta, and X's `kong migrations list` exits 4.
		{"pending migrations", "pending-migrations", "", ""},
	} {
		t.Run(tc.code, func(t *testing.T) {
			inv := resetLab(t, ctx)
			lab := testRunner.Lab // a reset may have rebuilt it
			// Undone afterwards, so the next reset finds the lab on X
			// without a rebuild.
			if tc.host != "" {
				if out, err := lab.Exec(ctx, tc.host, tc.setup); err != nil {
					t.Fatalf("set up %s on %s: %v: %s", tc.name, tc.host, err, out)
				}
				t.Cleanup(func() {
					if out, err := lab.Exec(context.Background(), tc.host, "dpkg -i "+shellquote.Quote(pkg(from))+" >/dev/null"); err != nil {
						t.Logf("put %s back on %s: %v: %s", from, tc.host, err, out)
					}
				})
			} else {
				undo, err := pendingFromOlderUpgrade(ctx, lab)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := undo(context.Background()); err != nil {
						t.Logf("put schema_meta back: %v", err)
					}
				})
			}
			before, err := Fingerprint(ctx, lab)
			if err != nil {
				t.Fatal(err)
			}
			state := t.TempDir()
			out, errOut, code := kongctlRun(ctx, t, state, "upgrade", "-i", inv, "--yes", "-o", "json")
			codes, stopped := findingCodes(t, out)
			t.Logf("%s: exit %d, error findings %v", tc.name, code, codes)
			if code != 1 {
				t.Fatalf("%s: upgrade exit %d, want 1 (refused): %s", tc.name, code, lastLines(errOut, 8))
			}
			found := false
			for _, c := range codes {
				found = found || c == tc.code
			}
			if !found {
				t.Errorf("%s: no error finding %q among %v", tc.name, tc.code, codes)
			}
			if stopped {
				t.Errorf("%s: the upgrade reached the stop phase", tc.name)
			}
			if after, err := Fingerprint(ctx, lab); err != nil || after != before {
				t.Errorf("%s: database changed by the refused run (%v)", tc.name, err)
			}
			if run, err := FleetLock(ctx, lab); err != nil || run != "" {
				t.Errorf("%s: fleet lock %q after a refused run (%v)", tc.name, run, err)
			}
			for _, h := range lab.KongHosts() {
				if st := Node(ctx, lab, h.Name); !st.Serving {
					t.Errorf("%s: %s stopped serving (kong %s)", tc.name, h.Name, st.Version)
				}
			}
		})
	}
	// Both cases undone: the lab is on X again, with no rebuild.
	if err := testRunner.onX(ctx); err != nil {
		t.Errorf("the lab is not back on X after the cases were undone: %v", err)
	}
}

// lastX is X's (2.8.x) last core migration; it has a teardown.
const lastX = "015_270_to_280"

// pendingFromOlderUpgrade puts the database in the state an unfinished
// 2.7 → 2.8 upgrade leaves: X's last core migration ran `up` only. undo
// puts the row back as it was.
func pendingFromOlderUpgrade(ctx context.Context, lab *labenv.Lab) (undo func(context.Context) error, err error) {
	dsn, err := lab.DSN()
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to the lab database: %w", err)
	}
	defer conn.Close(context.Background())
	var executed, pending []string
	if err := conn.QueryRow(ctx, `SELECT executed, coalesce(pending, '{}') FROM public.schema_meta WHERE key = 'schema_meta' AND subsystem = 'core'`).Scan(&executed, &pending); err != nil {
		return nil, fmt.Errorf("read schema_meta: %w", err)
	}
	var hadNull bool
	_ = conn.QueryRow(ctx, `SELECT pending IS NULL FROM public.schema_meta WHERE key = 'schema_meta' AND subsystem = 'core'`).Scan(&hadNull)
	tag, err := conn.Exec(ctx, `UPDATE public.schema_meta
		SET executed = array_remove(executed, $1), pending = array_append(coalesce(pending, '{}'), $1)
		WHERE key = 'schema_meta' AND subsystem = 'core' AND $1 = ANY(executed)`, lastX)
	if err != nil {
		return nil, fmt.Errorf("mark %s pending: %w", lastX, err)
	}
	if tag.RowsAffected() != 1 {
		return nil, fmt.Errorf("mark %s pending: %d rows", lastX, tag.RowsAffected())
	}
	return func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var p any = pending
		if hadNull {
			p = nil
		}
		_, err = conn.Exec(ctx, `UPDATE public.schema_meta SET executed = $1, pending = $2 WHERE key = 'schema_meta' AND subsystem = 'core'`, executed, p)
		return err
	}, nil
}
