//go:build integration

package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 23 on a fleet configured through its service environment
// (ENVCONF: the database's host, user, name and password only in the
// environment file, kong.conf naming a decoy database): the rehearsal
// host runs Y with that environment, the database pointed at the scratch
// copy. `kongctl plan` measures up and finish there (a rehearsal on
// kong.conf alone would reach the decoy's role, which cannot read the
// copy); X's database and the decoy are unchanged, no scratch database is
// left, and neither password is in kongctl's output, on the rehearsal
// host, in the journal or in the HTML report of the upgrade that follows.
func TestRehearsalCarriesTheServiceEnv(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, EnvConf: true})
	nodes := names(e.lab.KongHosts())
	inv := e.rehearsalInventory()
	decoyDSN, err := e.lab.DecoyDSN()
	if err != nil {
		t.Fatal(err)
	}
	decoy, before := e.fingerprintDSN(decoyDSN), e.fingerprint()
	secrets := map[string]string{}
	for name, f := range map[string]string{"database password": e.lab.PasswordFile(), "decoy password": filepath.Join(e.lab.Dir(), labenv.DecoyPasswordFile)} {
		b, err := os.ReadFile(f)
		if err != nil || len(strings.TrimSpace(string(b))) < 8 {
			t.Fatalf("%s: %v", name, err)
		}
		secrets[name] = strings.TrimSpace(string(b))
	}
	noSecrets := func(what, s string) {
		t.Helper()
		for name, v := range secrets {
			if strings.Contains(s, v) {
				t.Errorf("%s: the %s appears", what, name)
			}
		}
	}

	r := e.kongctl("plan", "-i", inv, "--output", "json")
	if r.code != 0 {
		t.Fatalf("plan: %s", r)
	}
	noSecrets("plan's stdout and stderr", r.stdout+r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ev struct {
		Payload planRehearsal `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
	}
	p, rh := ev.Payload, ev.Payload.Rehearsal
	if !p.Ready || rh == nil || rh.Host != "spare-1" || !rh.Dropped || rh.Up <= 0 || rh.Finish <= 0 || rh.Smoke < 1 {
		t.Fatalf("plan's rehearsal: ready=%v %+v\n%s", p.Ready, rh, r)
	}
	if p.Downtime.Migrations != "measured on a rehearsal" {
		t.Errorf("migration times are not the rehearsal's: %+v", p.Downtime)
	}
	for _, ph := range p.Phases {
		if ph.Name == "migrate-up" && ph.Estimate != rh.Up || ph.Name == "migrate-finish" && ph.Estimate != rh.Finish {
			t.Errorf("phase %s estimate %.1f, rehearsal up %.1f finish %.1f", ph.Name, ph.Estimate, rh.Up, rh.Finish)
		}
	}
	if !strings.Contains(r.stdout+r.stderr, "runs kong with "+nodes[0]+"'s kong.conf and service environment") {
		t.Errorf("plan does not say the rehearsal took %s's service environment:\n%s", nodes[0], r.stderr)
	}
	t.Logf("rehearsal with the service environment: up %.1fs, finish %.1fs", rh.Up, rh.Finish)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Fatalf("X's database changed by the plan's rehearsal: %v", d)
	}
	if d := diffFingerprints(decoy, e.fingerprintDSN(decoyDSN)); len(d) > 0 {
		t.Errorf("the decoy database changed: %v", d)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s", s)
	}
	// Nothing on the rehearsal host keeps a password: kong.conf is
	// removed, Kong's .kong_env too (the files read here, no secret on a
	// command line).
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.Exec(ctx, "spare-1", "find /etc/kong /usr/local/kong /var/lib/kongctl -xdev -type f -size -512k -exec cat {} + 2>/dev/null; true")
	if err != nil {
		t.Fatalf("read spare-1's files: %v", err)
	}
	noSecrets("spare-1's files", out)

	// The upgrade rehearses in its preflight, then upgrades; its journal
	// and HTML report hold no password, and the report the rehearsal.
	report := filepath.Join(t.TempDir(), "report.html")
	r = e.kongctl("upgrade", "-i", inv, "--yes", "--output", "json", "--report", report)
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	noSecrets("upgrade's stdout and stderr", r.stdout+r.stderr)
	e.requireVersion("3.4.2", nodes...)
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets("the HTML report", string(html))
	if !strings.Contains(string(html), "Rehearsal on spare-1") {
		t.Errorf("the HTML report lacks the rehearsal")
	}
	var state strings.Builder
	if err := filepath.WalkDir(e.stateDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, rerr := os.ReadFile(path)
			state.Write(b)
			return rerr
		}
		return err
	}); err != nil || state.Len() == 0 {
		t.Fatalf("read kongctl's state (journal): %v", err)
	}
	noSecrets("kongctl's state directory (journal)", state.String())
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left after the upgrade: %s", s)
	}
}
