package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/upgradepath"
)

// The rehearsal host runs Y with the migration node's effective
// configuration: its kong.conf (written there) and its service's KONG_*
// environment, carried in the agent requests (agentproto.KongEnv: stdin
// only, never argv, a log or a file), with only the database target
// pointed at the scratch copy (kong-reference 9.2; issue 23).

// rehearsalEnvDropped are service-manager plumbing, not configuration:
// Kong's systemd units set KONG_NGINX_DAEMON=off to keep nginx in the
// foreground as the unit's main process; under the kong CLI it would keep
// `kong start` from returning.
var rehearsalEnvDropped = []string{"KONG_NGINX_DAEMON"}

// vaultRef is a Kong vault reference ({vault://backend/name}).
var vaultRef = regexp.MustCompile(`\{vault://[^}]*\}`)

// withFleetEnv is the rehearsal host n as a view whose kong commands run
// with the migration node's service environment, the database pointed at
// the scratch copy (rehearsalEnv).
func (e *engine) withFleetEnv(ctx context.Context, n fleet.Node, scratch string) (fleet.Node, error) {
	src, carried, err := e.sourceEnv(ctx)
	if err != nil {
		return nil, err
	}
	kn, ok := n.(fleet.KongEnvNode)
	if !carried || !ok {
		return nil, fmt.Errorf("the fleet's adapter cannot carry the service environment to the rehearsal host %s", e.spec.Rehearsal)
	}
	if why := rehearsalEnvGap(e.spec.Nodes[0], src); why != "" {
		return nil, errors.New(why)
	}
	env, err := e.rehearsalEnv(src, e.pf.Facts[e.spec.Nodes[0]], scratch)
	if err != nil {
		return nil, err
	}
	e.note("rehearsal: %s runs kong with %s's kong.conf and service environment (%d KONG_* variables, the database pointed at %s)",
		e.spec.Rehearsal, e.spec.Nodes[0], len(env), scratch)
	return kn.WithKongEnv(env), nil
}

// sourceEnv reads the service environment of the node whose
// configuration the rehearsal takes (the migration node), with its
// values; the secret ones go to the redactor at once. carried is false
// when the adapters cannot carry an environment to the rehearsal host.
func (e *engine) sourceEnv(ctx context.Context) (env fleet.ServiceEnv, carried bool, err error) {
	src := e.spec.Nodes[0]
	n, err := e.node(ctx, src)
	if err != nil {
		return env, true, err
	}
	rd, ok := n.(fleet.ServiceEnvReader)
	if !ok {
		return env, false, nil
	}
	if env, err = rd.ServiceEnv(ctx); err != nil {
		return env, true, fmt.Errorf("read the kong service's environment on %s: %w", src, err)
	}
	for k, v := range env.Vars {
		if agentproto.SecretConfKey(strings.ToLower(strings.TrimPrefix(k, "KONG_"))) {
			e.red.add([]byte(v))
		}
	}
	return env, true, nil
}

// rehearsalEnvCheck says why the migration node's service environment
// cannot be carried to the rehearsal host ("" when it can); the values
// read are not kept.
func (e *engine) rehearsalEnvCheck(ctx context.Context) (string, error) {
	env, carried, err := e.sourceEnv(ctx)
	switch {
	case err != nil:
		return "", err
	case !carried:
		return "the fleet's adapter cannot carry the service environment to the rehearsal host", nil
	}
	return rehearsalEnvGap(e.spec.Nodes[0], env), nil
}

// rehearsalEnvGap says what of node's service environment cannot be
// carried to the rehearsal host, "" when all of it can: a value that is a
// vault reference resolves on the node, from a vault kongctl does not
// reach (the env vault reads the node's own variables, the others need
// the node's credentials).
func rehearsalEnvGap(node string, env fleet.ServiceEnv) string {
	var keys []string
	for _, k := range env.Vars.Names() {
		if vaultRef.MatchString(env.Vars[k]) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return fmt.Sprintf("%s's service environment (%s) sets %s to a vault reference, which Kong resolves on that node from a vault kongctl does not carry to the rehearsal host",
		node, orDefault(env.Source, "KONG_* variables"), strings.Join(keys, ", "))
}

// rehearsalEnv is the environment of the rehearsal host's kong commands:
// the migration node's service environment (src) with the database target
// set to the scratch copy on the inventory's database server (which the
// rehearsal host reaches: preflight checks it). Where the node's
// effective pg_user (f) is not the inventory's database user, who owns
// the scratch copy, pg_user and pg_password are the inventory's. A read
// replica (pg_ro_host) is pointed at the copy too.
func (e *engine) rehearsalEnv(src fleet.ServiceEnv, f fleet.Facts, scratch string) (agentproto.KongEnv, error) {
	env := agentproto.KongEnv{}
	maps.Copy(env, src.Vars)
	for _, k := range rehearsalEnvDropped {
		delete(env, k)
	}
	db := e.spec.DB
	port := strconv.Itoa(cmp.Or(db.Port, 5432))
	env["KONG_PG_HOST"], env["KONG_PG_PORT"], env["KONG_PG_DATABASE"] = db.Host, port, scratch
	if user := effectiveSetting(f, "pg_user"); db.User != "" && user != db.User {
		env["KONG_PG_USER"] = db.User
		delete(env, "KONG_PG_PASSWORD")
		if db.Password != nil {
			pw, err := db.Password()
			if err != nil {
				return nil, fmt.Errorf("resolve the database password reference for the rehearsal: %w", err)
			}
			e.red.add(pw)
			env["KONG_PG_PASSWORD"] = string(pw)
		}
	}
	if _, ok := src.Vars["KONG_PG_RO_HOST"]; ok || slices.ContainsFunc(f.ConfEntries, func(c upgradepath.ConfEntry) bool { return c.Key == "pg_ro_host" }) {
		env["KONG_PG_RO_HOST"], env["KONG_PG_RO_PORT"], env["KONG_PG_RO_DATABASE"] = db.Host, port, scratch
	}
	return env, nil
}

// effectiveSetting is the node's effective database setting key ("" when
// the node did not report it).
func effectiveSetting(f fleet.Facts, key string) string {
	for _, s := range f.DB {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// removeRehearsalConf removes the fleet's kong.conf from the rehearsal
// host once its Kong stopped (it may hold pg_password and other secrets;
// it was written there owner-only for the rehearsal alone), on every
// path. A failure is a warning naming the file.
func (e *engine) removeRehearsalConf(ctx context.Context, n fleet.Node) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	path := orDefault(e.spec.KongConf, "/etc/kong/kong.conf")
	if _, err := execOK(ctx, n, "rm", fleet.ExecRequest{Command: `rm -f -- "$KONGCTL_KONG_CONF"`, Env: map[string]string{"KONGCTL_KONG_CONF": path}, Timeout: 30 * time.Second}); err != nil {
		e.find(Finding{Severity: SevWarning, Code: "rehearsal-conf", Host: e.spec.Rehearsal,
			Message: fmt.Sprintf("remove the fleet's kong.conf %s from the rehearsal host %s: %s; remove it by hand", path, e.spec.Rehearsal, e.red.err(err))})
	}
}
