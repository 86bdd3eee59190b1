package kongsim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"
)

// declarative is the kong.yml shape the simulator writes and reads (YAML
// with the Admin API's field names).
type declarative struct {
	FormatVersion string    `json:"_format_version"`
	Transform     *bool     `json:"_transform,omitempty"`
	Services      []Service `json:"services,omitempty"`
	Routes        []Route   `json:"routes,omitempty"`
	Plugins       []Plugin  `json:"plugins,omitempty"`
}

func marshalYAML(d declarative) ([]byte, error) {
	j, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var m yaml.Node
	if err := yaml.Unmarshal(j, &m); err != nil { // JSON is YAML; re-emit it in block style
		return nil, err
	}
	clearStyle(&m)
	return yaml.Marshal(&m)
}

func clearStyle(n *yaml.Node) {
	n.Style = n.Style &^ yaml.FlowStyle
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func (a *app) cmdConfig(ctx context.Context, args []string) error {
	usage := "Usage: kong config COMMAND [OPTIONS]\n\nUse declarative configuration files with Kong.\n\nThe available commands are:\n  init [<file>]                       Generate an example config file to\n                                      get you started.\n\n  db_import <file>                    Import a declarative config file into\n                                      the Kong database.\n\n  db_export [<file>]                  Export the Kong database into a\n                                      declarative config file.\n\n  parse <file>                        Parse a declarative config file (check\n                                      its syntax) but do not load it into Kong.\n"
	p, err := a.parseArgs(usage, args, fConf, fPrefix)
	if err != nil {
		return err
	}
	if len(p.pos) == 0 {
		fmt.Fprint(a.stdio.Stderr, usage)
		return &exitErr{code: 1}
	}
	sub := p.pos[0]
	file := ""
	if len(p.pos) > 1 {
		file = p.pos[1]
	}
	switch sub {
	case "init":
		if file == "" {
			file = "kong.yml"
		}
		if _, err := os.Stat(file); err == nil {
			return fail("%s already exists. Will not overwrite it.", file)
		}
		t := false
		d := declarative{FormatVersion: a.formatVersion(), Transform: &t}
		b, _ := marshalYAML(d)
		return os.WriteFile(file, b, 0o644)
	case "parse":
		if file == "" {
			return fail("expected a declarative configuration file; see `kong config --help`")
		}
		if _, err := readDeclarative(file); err != nil {
			return fail("%s", err)
		}
		a.log("parse successful")
		return nil
	case "db_export", "db_import":
	default:
		fmt.Fprintf(a.stdio.Stderr, "No such command for config: %s\n", sub)
		return &exitErr{code: 1}
	}
	c, err := a.loadConfig(p)
	if err != nil {
		return err
	}
	if c.DBOff() {
		return fail("'kong config %s' only works with a database", sub)
	}
	if sub == "db_export" {
		if file == "" {
			file = "kong.yml"
		}
		if _, err := os.Stat(file); err == nil {
			return fail("%s already exists. Will not overwrite it.", file)
		}
	} else if file == "" {
		return fail("expected a declarative configuration file; see `kong config --help`")
	}
	db, err := openDB(ctx, c)
	if err != nil {
		return fail("%s", err)
	}
	defer db.close()
	st, err := db.state(ctx, a.rel.Catalogue(c.Get("plugins")))
	if err != nil {
		return fail("%s", err)
	}
	if err := a.checkState(st); err != nil {
		return err
	}
	if sub == "db_export" {
		k, err := a.rel.loadSnapshot(ctx, db.conn)
		if err != nil {
			return fail("%s", pgErr(err))
		}
		t := false
		b, err := marshalYAML(declarative{FormatVersion: a.formatVersion(), Transform: &t, Services: k.Services, Routes: k.Routes, Plugins: k.Plugins})
		if err != nil {
			return fail("%s", err)
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return fail("%s", err)
		}
		return nil
	}
	d, err := readDeclarative(file)
	if err != nil {
		return fail("%s", err)
	}
	a.log("parse successful, beginning import")
	tx, err := db.conn.Begin(ctx)
	if err != nil {
		return fail("%s", pgErr(err))
	}
	defer tx.Rollback(ctx)
	if err := a.importAll(ctx, tx, d); err != nil {
		return fail("%s", pgErr(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("%s", pgErr(err))
	}
	a.log("import successful")
	return nil
}

func (a *app) formatVersion() string {
	if a.rel.AtLeast(3, 0) {
		return "3.0"
	}
	return "2.1"
}

func readDeclarative(file string) (*declarative, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: No such file or directory", file)
	}
	var generic any
	if err := yaml.Unmarshal(b, &generic); err != nil {
		return nil, fmt.Errorf("failed parsing declarative configuration: %v", err)
	}
	j, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("failed parsing declarative configuration: %v", err)
	}
	var d declarative
	if err := json.Unmarshal(j, &d); err != nil {
		return nil, fmt.Errorf("failed parsing declarative configuration: %v", err)
	}
	if d.FormatVersion == "" {
		return nil, fmt.Errorf("failed parsing declarative configuration: expected a _format_version")
	}
	return &d, nil
}

func (a *app) importAll(ctx context.Context, tx pgx.Tx, d *declarative) error {
	conn := tx.Conn()
	for _, s := range d.Services {
		if s.ID == "" {
			s.ID = randomID()
		}
		if err := a.rel.saveService(ctx, conn, s); err != nil {
			return err
		}
	}
	for _, r := range d.Routes {
		if r.ID == "" {
			r.ID = randomID()
		}
		if err := a.rel.saveRoute(ctx, conn, r); err != nil {
			return err
		}
	}
	for _, p := range d.Plugins {
		if p.ID == "" {
			p.ID = randomID()
		}
		if err := a.rel.savePlugin(ctx, conn, p); err != nil {
			return err
		}
	}
	return nil
}
