package kongsim

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ref is a foreign key as the Admin API shows it: {"id": "..."}.
type Ref struct {
	ID string `json:"id"`
}

// Service is Kong's service entity (the fields the simulator keeps).
type Service struct {
	ID             string   `json:"id"`
	Name           *string  `json:"name"`
	CreatedAt      int64    `json:"created_at"`
	UpdatedAt      int64    `json:"updated_at"`
	Protocol       string   `json:"protocol"`
	Host           string   `json:"host"`
	Port           int      `json:"port"`
	Path           *string  `json:"path"`
	Retries        int      `json:"retries"`
	ConnectTimeout int      `json:"connect_timeout"`
	WriteTimeout   int      `json:"write_timeout"`
	ReadTimeout    int      `json:"read_timeout"`
	Tags           []string `json:"tags"`
}

// Route is Kong's route entity.
type Route struct {
	ID            string   `json:"id"`
	Name          *string  `json:"name"`
	CreatedAt     int64    `json:"created_at"`
	UpdatedAt     int64    `json:"updated_at"`
	Service       *Ref     `json:"service"`
	Protocols     []string `json:"protocols"`
	Methods       []string `json:"methods"`
	Hosts         []string `json:"hosts"`
	Paths         []string `json:"paths"`
	RegexPriority int      `json:"regex_priority"`
	StripPath     bool     `json:"strip_path"`
	PreserveHost  bool     `json:"preserve_host"`
	Tags          []string `json:"tags"`
}

// Plugin is Kong's plugin entity.
type Plugin struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	CreatedAt int64          `json:"created_at"`
	Service   *Ref           `json:"service"`
	Route     *Ref           `json:"route"`
	Consumer  *Ref           `json:"consumer"`
	Config    map[string]any `json:"config"`
	Enabled   bool           `json:"enabled"`
	Protocols []string       `json:"protocols"`
	Tags      []string       `json:"tags"`
}

// Workspace is the EE workspace entity.
type Workspace struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Comment   *string `json:"comment"`
	CreatedAt int64   `json:"created_at"`
}

// KongConfig is a full configuration snapshot: what the router uses, what
// a control plane sends, what a data plane caches.
type KongConfig struct {
	Services []Service `json:"services"`
	Routes   []Route   `json:"routes"`
	Plugins  []Plugin  `json:"plugins"`
}

// Hash is the configuration hash (md5 of the JSON, as a hex string).
func (k *KongConfig) Hash() string {
	b, _ := json.Marshal(k)
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(s string) bool { return uuidRe.MatchString(s) }

func ts(t time.Time) int64 { return t.Unix() }

func refOf(id *string) *Ref {
	if id == nil {
		return nil
	}
	return &Ref{ID: *id}
}

const serviceCols = `id::text, name, extract(epoch from created_at)::bigint, extract(epoch from coalesce(updated_at, created_at))::bigint,
 coalesce(protocol,'http'), coalesce(host,''), coalesce(port,80), path, coalesce(retries,5),
 coalesce(connect_timeout,60000), coalesce(write_timeout,60000), coalesce(read_timeout,60000), coalesce(tags,'{}')`

func scanService(row pgx.Row) (Service, error) {
	var s Service
	err := row.Scan(&s.ID, &s.Name, &s.CreatedAt, &s.UpdatedAt, &s.Protocol, &s.Host, &s.Port, &s.Path,
		&s.Retries, &s.ConnectTimeout, &s.WriteTimeout, &s.ReadTimeout, &s.Tags)
	return s, err
}

const routeCols = `id::text, name, extract(epoch from created_at)::bigint, extract(epoch from coalesce(updated_at, created_at))::bigint,
 service_id::text, coalesce(protocols,'{http,https}'), methods, hosts, paths, coalesce(regex_priority,0),
 coalesce(strip_path,true), coalesce(preserve_host,false), coalesce(tags,'{}')`

func scanRoute(row pgx.Row) (Route, error) {
	var r Route
	var svc *string
	err := row.Scan(&r.ID, &r.Name, &r.CreatedAt, &r.UpdatedAt, &svc, &r.Protocols, &r.Methods, &r.Hosts, &r.Paths,
		&r.RegexPriority, &r.StripPath, &r.PreserveHost, &r.Tags)
	r.Service = refOf(svc)
	return r, err
}

// pluginCols: a 2.x binary also reads run_on, which 016_280_to_300's
// teardown drops (so it breaks on a finished 3.x database).
func (r Release) pluginCols() string {
	cols := `id::text, name, extract(epoch from created_at)::bigint, service_id::text, route_id::text, consumer_id::text,
 config, enabled, coalesce(protocols,'{grpc,grpcs,http,https}'), coalesce(tags,'{}')`
	if !r.AtLeast(3, 0) {
		cols += `, coalesce(run_on, 'first')`
	}
	return cols
}

func (r Release) scanPlugin(row pgx.Row) (Plugin, error) {
	var p Plugin
	var svc, rt, cons *string
	dst := []any{&p.ID, &p.Name, &p.CreatedAt, &svc, &rt, &cons, &p.Config, &p.Enabled, &p.Protocols, &p.Tags}
	var runOn string
	if !r.AtLeast(3, 0) {
		dst = append(dst, &runOn)
	}
	err := row.Scan(dst...)
	p.Service, p.Route, p.Consumer = refOf(svc), refOf(rt), refOf(cons)
	return p, err
}

// loadSnapshot reads every service, route and plugin.
func (r Release) loadSnapshot(ctx context.Context, conn *pgx.Conn) (*KongConfig, error) {
	k := &KongConfig{Services: []Service{}, Routes: []Route{}, Plugins: []Plugin{}}
	rows, err := conn.Query(ctx, `SELECT `+serviceCols+` FROM services ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		k.Services = append(k.Services, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT `+routeCols+` FROM routes ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		k.Routes = append(k.Routes, rt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT `+r.pluginCols()+` FROM plugins ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		p, err := r.scanPlugin(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		k.Plugins = append(k.Plugins, p)
	}
	rows.Close()
	return k, rows.Err()
}

var errNotFound = errors.New("not found")

func notFoundIf(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	return err
}

func (r Release) getService(ctx context.Context, conn *pgx.Conn, idOrName string) (Service, error) {
	col := "name"
	if isUUID(idOrName) {
		col = "id"
	}
	s, err := scanService(conn.QueryRow(ctx, `SELECT `+serviceCols+` FROM services WHERE `+col+`::text = $1`, idOrName))
	return s, notFoundIf(err)
}

func (r Release) getRoute(ctx context.Context, conn *pgx.Conn, idOrName string) (Route, error) {
	col := "name"
	if isUUID(idOrName) {
		col = "id"
	}
	rt, err := scanRoute(conn.QueryRow(ctx, `SELECT `+routeCols+` FROM routes WHERE `+col+`::text = $1`, idOrName))
	return rt, notFoundIf(err)
}

func (r Release) getPlugin(ctx context.Context, conn *pgx.Conn, id string) (Plugin, error) {
	if !isUUID(id) {
		return Plugin{}, errNotFound
	}
	p, err := r.scanPlugin(conn.QueryRow(ctx, `SELECT `+r.pluginCols()+` FROM plugins WHERE id = $1`, id))
	return p, notFoundIf(err)
}

func (r Release) saveService(ctx context.Context, conn *pgx.Conn, s Service) error {
	_, err := conn.Exec(ctx, `
INSERT INTO services (id, name, created_at, updated_at, protocol, host, port, path, retries, connect_timeout, write_timeout, read_timeout, tags, ws_id)
VALUES ($1, $2, to_timestamp($3), to_timestamp($4), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (id) DO UPDATE SET name = $2, updated_at = to_timestamp($4), protocol = $5, host = $6, port = $7, path = $8,
  retries = $9, connect_timeout = $10, write_timeout = $11, read_timeout = $12, tags = $13`,
		s.ID, s.Name, s.CreatedAt, s.UpdatedAt, s.Protocol, s.Host, s.Port, s.Path, s.Retries,
		s.ConnectTimeout, s.WriteTimeout, s.ReadTimeout, s.Tags, DefaultWorkspaceID)
	return err
}

func (r Release) saveRoute(ctx context.Context, conn *pgx.Conn, rt Route) error {
	var svc *string
	if rt.Service != nil {
		svc = &rt.Service.ID
	}
	_, err := conn.Exec(ctx, `
INSERT INTO routes (id, name, created_at, updated_at, service_id, protocols, methods, hosts, paths, regex_priority, strip_path, preserve_host, tags, ws_id)
VALUES ($1, $2, to_timestamp($3), to_timestamp($4), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (id) DO UPDATE SET name = $2, updated_at = to_timestamp($4), service_id = $5, protocols = $6, methods = $7,
  hosts = $8, paths = $9, regex_priority = $10, strip_path = $11, preserve_host = $12, tags = $13`,
		rt.ID, rt.Name, rt.CreatedAt, rt.UpdatedAt, svc, rt.Protocols, rt.Methods, rt.Hosts, rt.Paths,
		rt.RegexPriority, rt.StripPath, rt.PreserveHost, rt.Tags, DefaultWorkspaceID)
	return err
}

func (r Release) savePlugin(ctx context.Context, conn *pgx.Conn, p Plugin) error {
	id := func(ref *Ref) *string {
		if ref == nil {
			return nil
		}
		return &ref.ID
	}
	cacheKey := fmt.Sprintf("plugins:%s:%s:%s:%s::", p.Name, deref(id(p.Route)), deref(id(p.Service)), deref(id(p.Consumer)))
	if p.Config == nil {
		p.Config = map[string]any{}
	}
	cfgJSON, err := json.Marshal(p.Config)
	if err != nil {
		return err
	}
	cfg := string(cfgJSON)
	if !r.AtLeast(3, 0) {
		_, err := conn.Exec(ctx, `
INSERT INTO plugins (id, name, created_at, service_id, route_id, consumer_id, config, enabled, protocols, tags, cache_key, ws_id, run_on)
VALUES ($1, $2, to_timestamp($3), $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, 'first')
ON CONFLICT (id) DO UPDATE SET name = $2, service_id = $4, route_id = $5, consumer_id = $6, config = $7::jsonb, enabled = $8,
  protocols = $9, tags = $10, cache_key = $11`,
			p.ID, p.Name, p.CreatedAt, id(p.Service), id(p.Route), id(p.Consumer), cfg, p.Enabled, p.Protocols, p.Tags, cacheKey, DefaultWorkspaceID)
		return err
	}
	_, err = conn.Exec(ctx, `
INSERT INTO plugins (id, name, created_at, service_id, route_id, consumer_id, config, enabled, protocols, tags, cache_key, ws_id)
VALUES ($1, $2, to_timestamp($3), $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET name = $2, service_id = $4, route_id = $5, consumer_id = $6, config = $7::jsonb, enabled = $8,
  protocols = $9, tags = $10, cache_key = $11`,
		p.ID, p.Name, p.CreatedAt, id(p.Service), id(p.Route), id(p.Consumer), cfg, p.Enabled, p.Protocols, p.Tags, cacheKey, DefaultWorkspaceID)
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
