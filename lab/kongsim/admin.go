package kongsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func (d *daemon) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.adminRoot)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, d.statusBody(r)) })
	mux.HandleFunc("GET /metrics", d.serveMetrics)

	mux.HandleFunc("GET /services", d.list(func(k *KongConfig, _ *http.Request) any { return k.Services }))
	mux.HandleFunc("POST /services", d.writeService(false))
	mux.HandleFunc("GET /services/{id}", d.getOne("service"))
	mux.HandleFunc("PATCH /services/{id}", d.writeService(true))
	mux.HandleFunc("PUT /services/{id}", d.writeService(false))
	mux.HandleFunc("DELETE /services/{id}", d.deleteOne("services"))
	mux.HandleFunc("GET /services/{id}/routes", d.nestedList("routes"))
	mux.HandleFunc("POST /services/{id}/routes", d.writeRoute(false))
	mux.HandleFunc("GET /services/{id}/plugins", d.nestedList("plugins"))
	mux.HandleFunc("POST /services/{id}/plugins", d.writePlugin(false))

	mux.HandleFunc("GET /routes", d.list(func(k *KongConfig, _ *http.Request) any { return k.Routes }))
	mux.HandleFunc("POST /routes", d.writeRoute(false))
	mux.HandleFunc("GET /routes/{id}", d.getOne("route"))
	mux.HandleFunc("PATCH /routes/{id}", d.writeRoute(true))
	mux.HandleFunc("PUT /routes/{id}", d.writeRoute(false))
	mux.HandleFunc("DELETE /routes/{id}", d.deleteOne("routes"))
	mux.HandleFunc("GET /routes/{id}/plugins", d.nestedList("route-plugins"))
	mux.HandleFunc("POST /routes/{id}/plugins", d.writePlugin(false))

	mux.HandleFunc("GET /plugins", d.list(func(k *KongConfig, _ *http.Request) any { return k.Plugins }))
	mux.HandleFunc("POST /plugins", d.writePlugin(false))
	mux.HandleFunc("GET /plugins/{id}", d.getOne("plugin"))
	mux.HandleFunc("PATCH /plugins/{id}", d.writePlugin(true))
	mux.HandleFunc("PUT /plugins/{id}", d.writePlugin(false))
	mux.HandleFunc("DELETE /plugins/{id}", d.deleteOne("plugins"))

	if d.app.rel.EE() {
		mux.HandleFunc("GET /workspaces", d.listWorkspaces)
		mux.HandleFunc("POST /workspaces", d.createWorkspace)
	}
	d.keyringRoutes(mux)
	if d.role == "control_plane" {
		mux.HandleFunc("GET /clustering/data-planes", d.listDataPlanes)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]string{"message": "Not found"})
	})
	return d.withServer(d.withRBAC(mux))
}

func (d *daemon) adminRoot(w http.ResponseWriter, r *http.Request) {
	rel := d.app.rel
	avail := map[string]any{}
	for _, p := range rel.LoadedPlugins(d.conf.Get("plugins")) {
		if rel.AtLeast(3, 0) {
			avail[p] = map[string]any{"version": rel.Version, "priority": 1000}
		} else {
			avail[p] = true
		}
	}
	k, _, _ := d.snapshot()
	enabled := []string{}
	if k != nil {
		seen := map[string]bool{}
		for _, p := range k.Plugins {
			if !seen[p.Name] {
				seen[p.Name] = true
				enabled = append(enabled, p.Name)
			}
		}
	}
	conf := map[string]any{}
	for key, v := range d.conf.Values {
		if strings.Contains(key, "password") {
			v = "******"
		}
		conf[key] = v
	}
	edition := "community"
	if rel.EE() {
		edition = "enterprise"
	}
	writeJSON(w, 200, map[string]any{
		"tagline": "Welcome to kong", "version": rel.MetaVersion(), "edition": edition,
		"hostname": d.hostname, "node_id": d.nodeID,
		"timers":      map[string]int{"running": 0, "pending": 4},
		"plugins":     map[string]any{"available_on_server": avail, "enabled_in_cluster": enabled},
		"lua_version": "LuaJIT 2.1.0-20230410", "configuration": conf,
		"pids": map[string]any{"master": os.Getpid(), "workers": []int{os.Getpid()}},
	})
}

// adminDB runs fn against the database; errors become Kong's shapes.
func (d *daemon) adminDB(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, c *pgx.Conn) (int, any, error)) {
	if d.pool == nil {
		writeJSON(w, 405, map[string]string{"message": "cannot modify or read entities via the Admin API on this node (database = off)"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var code int
	var body any
	err := d.pool.with(ctx, func(c *pgx.Conn) error {
		var err error
		code, body, err = fn(ctx, c)
		return err
	})
	if err != nil {
		writeDBError(w, err)
		return
	}
	if code == 204 {
		w.WriteHeader(204)
		return
	}
	writeJSON(w, code, body)
	if r.Method != http.MethodGet {
		go d.refreshFromDB(context.Background())
	}
}

type apiError struct {
	code int
	body any
}

func (e *apiError) Error() string { return fmt.Sprint(e.body) }

func schemaViolation(fields map[string]any) error {
	var parts []string
	for k, v := range fields {
		parts = append(parts, fmt.Sprintf("%s: %v", k, v))
	}
	return &apiError{400, map[string]any{"code": 2, "name": "schema violation",
		"message": fmt.Sprintf("schema violation (%s)", strings.Join(parts, "; ")), "fields": fields}}
}

func writeDBError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.code, ae.body)
		return
	}
	if errors.Is(err, errNotFound) {
		writeJSON(w, 404, map[string]string{"message": "Not found"})
		return
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			writeJSON(w, 409, map[string]any{"code": 5, "name": "unique constraint violation",
				"message": "UNIQUE violation detected on '" + pe.Detail + "'", "fields": map[string]any{}})
			return
		case "23503":
			if strings.Contains(pe.Message, "update or delete") {
				writeJSON(w, 400, map[string]any{"code": 4, "name": "foreign key violation",
					"message": "an existing '" + pe.TableName + "' entity references this entity", "fields": map[string]any{"@referenced_by": pe.TableName}})
				return
			}
			writeJSON(w, 400, map[string]any{"code": 4, "name": "foreign key violation",
				"message": "the foreign key does not reference an existing entity", "fields": map[string]any{}})
			return
		}
	}
	writeJSON(w, 500, map[string]string{"message": "An unexpected error occurred", "error": "[postgres] " + pgErrText(err)})
}

func (d *daemon) list(pick func(*KongConfig, *http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			k, err := d.app.rel.loadSnapshot(ctx, c)
			if err == nil {
				err = d.openPlugins(k.Plugins)
			}
			if err != nil {
				return 0, nil, err
			}
			return 200, map[string]any{"data": pick(k, r), "next": nil}, nil
		})
	}
}

func (d *daemon) nestedList(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			rel := d.app.rel
			k, err := rel.loadSnapshot(ctx, c)
			if err == nil {
				err = d.openPlugins(k.Plugins)
			}
			if err != nil {
				return 0, nil, err
			}
			out := []any{}
			if kind == "route-plugins" {
				rt, err := rel.getRoute(ctx, c, r.PathValue("id"))
				if err != nil {
					return 0, nil, err
				}
				for _, p := range k.Plugins {
					if p.Route != nil && p.Route.ID == rt.ID {
						out = append(out, p)
					}
				}
				return 200, map[string]any{"data": out, "next": nil}, nil
			}
			s, err := rel.getService(ctx, c, r.PathValue("id"))
			if err != nil {
				return 0, nil, err
			}
			if kind == "routes" {
				for _, rt := range k.Routes {
					if rt.Service != nil && rt.Service.ID == s.ID {
						out = append(out, rt)
					}
				}
			} else {
				for _, p := range k.Plugins {
					if p.Service != nil && p.Service.ID == s.ID {
						out = append(out, p)
					}
				}
			}
			return 200, map[string]any{"data": out, "next": nil}, nil
		})
	}
}

func (d *daemon) getOne(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			rel, id := d.app.rel, r.PathValue("id")
			var v any
			var err error
			switch kind {
			case "service":
				v, err = rel.getService(ctx, c, id)
			case "route":
				v, err = rel.getRoute(ctx, c, id)
			default:
				v, err = d.plugin(ctx, c, id)
			}
			return 200, v, err
		})
	}
}

func (d *daemon) deleteOne(table string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			id := r.PathValue("id")
			col := "id::text"
			if !isUUID(id) {
				if table == "plugins" {
					return 204, nil, nil
				}
				col = "name"
			}
			_, err := c.Exec(ctx, "DELETE FROM "+table+" WHERE "+col+" = $1", id)
			return 204, nil, err
		})
	}
}

// readBody decodes JSON or form bodies into a map.
func readBody(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return out, nil
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || (b[0] != '{' && b[0] != '[') {
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, &apiError{400, map[string]string{"message": "Cannot parse body"}}
		}
		for k, vs := range vals {
			k = strings.TrimSuffix(k, "[]")
			if strings.HasPrefix(k, "config.") {
				cfg, _ := out["config"].(map[string]any)
				if cfg == nil {
					cfg = map[string]any{}
					out["config"] = cfg
				}
				cfg[strings.TrimPrefix(k, "config.")] = formScalar(vs[0])
				continue
			}
			switch k {
			case "paths", "hosts", "methods", "protocols", "tags":
				out[k] = toAny(vs)
			case "service.id", "route.id":
				out[strings.TrimSuffix(k, ".id")] = map[string]any{"id": vs[0]}
			default:
				out[k] = formScalar(vs[0])
			}
		}
		return out, nil
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &apiError{400, map[string]string{"message": "Cannot parse JSON body"}}
	}
	return out, nil
}

func formScalar(s string) any {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return n
	}
	if s == "true" || s == "false" {
		return s == "true"
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func strList(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func optString(v any) *string {
	if s, ok := v.(string); ok && s != "" {
		return &s
	}
	return nil
}

func intField(m map[string]any, k string, def int) (int, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case float64:
		return int(t), nil
	case string:
		if n, err := strconv.Atoi(t); err == nil {
			return n, nil
		}
	}
	return 0, schemaViolation(map[string]any{k: "expected an integer"})
}

func refField(m map[string]any, k string) (*Ref, bool) {
	v, ok := m[k]
	if !ok {
		return nil, false
	}
	switch t := v.(type) {
	case map[string]any:
		if id, ok := t["id"].(string); ok {
			return &Ref{ID: id}, true
		}
		if name, ok := t["name"].(string); ok {
			return &Ref{ID: name}, true
		}
	case string:
		return &Ref{ID: t}, true
	}
	return nil, true
}

func (d *daemon) writeService(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeDBError(w, err)
			return
		}
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			rel := d.app.rel
			now := ts(time.Now())
			s := Service{ID: randomID(), CreatedAt: now, Protocol: "http", Port: 80, Retries: 5,
				ConnectTimeout: 60000, WriteTimeout: 60000, ReadTimeout: 60000}
			code := 201
			if id := r.PathValue("id"); id != "" {
				old, err := rel.getService(ctx, c, id)
				switch {
				case err == nil:
					if patch {
						s = old
					} else {
						s.ID, s.CreatedAt = old.ID, old.CreatedAt
					}
					code = 200
				case errors.Is(err, errNotFound) && !patch:
					if isUUID(id) {
						s.ID = id
					} else {
						s.Name = &id
					}
					code = 200
				default:
					return 0, nil, err
				}
			}
			s.UpdatedAt = now
			if v, ok := body["url"].(string); ok && v != "" {
				u, err := url.Parse(v)
				if err != nil || u.Host == "" {
					return 0, nil, schemaViolation(map[string]any{"url": "missing host in url"})
				}
				s.Protocol, s.Host = u.Scheme, u.Hostname()
				s.Port = 80
				if u.Scheme == "https" {
					s.Port = 443
				}
				if p := u.Port(); p != "" {
					s.Port, _ = strconv.Atoi(p)
				}
				s.Path = nil
				if u.Path != "" {
					p := u.Path
					s.Path = &p
				}
			}
			if v, ok := body["name"]; ok {
				s.Name = optString(v)
			}
			for _, f := range []struct {
				k   string
				dst *string
			}{{"protocol", &s.Protocol}, {"host", &s.Host}} {
				if v, ok := body[f.k].(string); ok {
					*f.dst = v
				}
			}
			if v, ok := body["path"]; ok {
				s.Path = optString(v)
			}
			var err error
			for _, f := range []struct {
				k   string
				dst *int
			}{{"port", &s.Port}, {"retries", &s.Retries}, {"connect_timeout", &s.ConnectTimeout}, {"write_timeout", &s.WriteTimeout}, {"read_timeout", &s.ReadTimeout}} {
				if *f.dst, err = intField(body, f.k, *f.dst); err != nil {
					return 0, nil, err
				}
			}
			if v, ok := body["tags"]; ok {
				s.Tags, _ = strList(v)
			}
			if s.Host == "" {
				return 0, nil, schemaViolation(map[string]any{"host": "required field missing"})
			}
			if !contains([]string{"http", "https", "grpc", "grpcs", "tcp", "tls", "udp"}, s.Protocol) {
				return 0, nil, schemaViolation(map[string]any{"protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"})
			}
			if s.Path != nil && !strings.HasPrefix(*s.Path, "/") {
				return 0, nil, schemaViolation(map[string]any{"path": "should start with: / (fixed path)"})
			}
			if err := rel.saveService(ctx, c, s); err != nil {
				return 0, nil, err
			}
			return code, s, nil
		})
	}
}

func (d *daemon) writeRoute(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeDBError(w, err)
			return
		}
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			rel := d.app.rel
			now := ts(time.Now())
			rt := Route{ID: randomID(), CreatedAt: now, Protocols: []string{"http", "https"}, StripPath: true}
			code := 201
			if strings.HasPrefix(r.URL.Path, "/services/") {
				s, err := rel.getService(ctx, c, r.PathValue("id"))
				if err != nil {
					return 0, nil, err
				}
				rt.Service = &Ref{ID: s.ID}
			} else if id := r.PathValue("id"); id != "" {
				old, err := rel.getRoute(ctx, c, id)
				switch {
				case err == nil:
					if patch {
						rt = old
					} else {
						rt.ID, rt.CreatedAt = old.ID, old.CreatedAt
					}
					code = 200
				case errors.Is(err, errNotFound) && !patch:
					if isUUID(id) {
						rt.ID = id
					} else {
						rt.Name = &id
					}
					code = 200
				default:
					return 0, nil, err
				}
			}
			rt.UpdatedAt = now
			if v, ok := body["name"]; ok {
				rt.Name = optString(v)
			}
			if ref, ok := refField(body, "service"); ok {
				rt.Service = ref
				if ref != nil {
					s, err := rel.getService(ctx, c, ref.ID)
					if err != nil {
						if errors.Is(err, errNotFound) {
							return 0, nil, schemaViolation(map[string]any{"service": fmt.Sprintf("the foreign key '{id=\"%s\"}' does not reference an existing 'services' entity.", ref.ID)})
						}
						return 0, nil, err
					}
					rt.Service.ID = s.ID
				}
			}
			for _, f := range []struct {
				k   string
				dst *[]string
			}{{"paths", &rt.Paths}, {"hosts", &rt.Hosts}, {"methods", &rt.Methods}, {"protocols", &rt.Protocols}, {"tags", &rt.Tags}} {
				if v, ok := body[f.k]; ok {
					l, ok := strList(v)
					if !ok {
						return 0, nil, schemaViolation(map[string]any{f.k: "expected a set"})
					}
					*f.dst = l
				}
			}
			var err error
			if rt.RegexPriority, err = intField(body, "regex_priority", rt.RegexPriority); err != nil {
				return 0, nil, err
			}
			for _, f := range []struct {
				k   string
				dst *bool
			}{{"strip_path", &rt.StripPath}, {"preserve_host", &rt.PreserveHost}} {
				if v, ok := body[f.k].(bool); ok {
					*f.dst = v
				}
			}
			if len(rt.Paths)+len(rt.Hosts)+len(rt.Methods) == 0 {
				return 0, nil, schemaViolation(map[string]any{"@entity": []string{"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http'"}})
			}
			for _, p := range rt.Paths {
				if !strings.HasPrefix(p, "/") && !(rel.AtLeast(3, 0) && strings.HasPrefix(p, "~/")) {
					return 0, nil, schemaViolation(map[string]any{"paths": "should start with: / (fixed path) or ~/ (regex path)"})
				}
			}
			if err := rel.saveRoute(ctx, c, rt); err != nil {
				return 0, nil, err
			}
			return code, rt, nil
		})
	}
}

func (d *daemon) writePlugin(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeDBError(w, err)
			return
		}
		d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
			rel := d.app.rel
			p := Plugin{ID: randomID(), CreatedAt: ts(time.Now()), Enabled: true, Protocols: []string{"grpc", "grpcs", "http", "https"}, Config: map[string]any{}}
			code := 201
			switch {
			case strings.HasPrefix(r.URL.Path, "/services/"):
				s, err := rel.getService(ctx, c, r.PathValue("id"))
				if err != nil {
					return 0, nil, err
				}
				p.Service = &Ref{ID: s.ID}
			case strings.HasPrefix(r.URL.Path, "/routes/"):
				rt, err := rel.getRoute(ctx, c, r.PathValue("id"))
				if err != nil {
					return 0, nil, err
				}
				p.Route = &Ref{ID: rt.ID}
			case r.PathValue("id") != "":
				id := r.PathValue("id")
				old, err := d.plugin(ctx, c, id)
				switch {
				case err == nil:
					if patch {
						p = old
					} else {
						p.ID, p.CreatedAt = old.ID, old.CreatedAt
					}
					code = 200
				case errors.Is(err, errNotFound) && !patch && isUUID(id):
					p.ID = id
					code = 200
				default:
					return 0, nil, err
				}
			}
			if v, ok := body["name"].(string); ok {
				p.Name = v
			}
			if v, ok := body["config"].(map[string]any); ok {
				if patch {
					for k, x := range v {
						p.Config[k] = x
					}
				} else {
					p.Config = v
				}
			}
			if v, ok := body["enabled"].(bool); ok {
				p.Enabled = v
			}
			for _, k := range []string{"service", "route", "consumer"} {
				if ref, ok := refField(body, k); ok {
					switch k {
					case "service":
						p.Service = ref
					case "route":
						p.Route = ref
					default:
						p.Consumer = ref
					}
				}
			}
			if v, ok := body["tags"]; ok {
				p.Tags, _ = strList(v)
			}
			if p.Name == "" {
				return 0, nil, schemaViolation(map[string]any{"name": "required field missing"})
			}
			if !contains(rel.LoadedPlugins(d.conf.Get("plugins")), p.Name) {
				return 0, nil, schemaViolation(map[string]any{"name": fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", p.Name)})
			}
			stored, err := d.sealPlugin(p)
			if err != nil {
				return 0, nil, err
			}
			if err := rel.savePlugin(ctx, c, stored); err != nil {
				return 0, nil, err
			}
			return code, p, nil
		})
	}
}

func (d *daemon) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
		rows, err := c.Query(ctx, `SELECT id::text, name, comment, extract(epoch from created_at)::bigint FROM workspaces ORDER BY created_at, name`)
		if err != nil {
			return 0, nil, err
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Workspace, error) {
			var ws Workspace
			err := row.Scan(&ws.ID, &ws.Name, &ws.Comment, &ws.CreatedAt)
			return ws, err
		})
		return 200, map[string]any{"data": out, "next": nil}, err
	})
}

func (d *daemon) createWorkspace(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeDBError(w, err)
		return
	}
	d.adminDB(w, r, func(ctx context.Context, c *pgx.Conn) (int, any, error) {
		name, _ := body["name"].(string)
		if name == "" {
			return 0, nil, schemaViolation(map[string]any{"name": "required field missing"})
		}
		ws := Workspace{ID: randomID(), Name: name, Comment: optString(body["comment"]), CreatedAt: ts(time.Now())}
		_, err := c.Exec(ctx, `INSERT INTO workspaces (id, name, comment, created_at, meta, config) VALUES ($1, $2, $3, to_timestamp($4), '{}', '{}')`,
			ws.ID, ws.Name, ws.Comment, ws.CreatedAt)
		return 201, ws, err
	})
}
