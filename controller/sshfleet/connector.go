package sshfleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/internal/keycache"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/sshremote"
)

// NewConnector returns the production Connector for inv: one SSH
// connection per host (sshremote, with the inventory's jump chains, host
// keys and become), the agent delivered to each and called through
// agentclient. The database and the fleet lock are reached through the
// agent on the database tools host.
func NewConnector(inv *inventory.Inventory) (fleet.Connector, error) {
	if inv.Database == nil || inv.Upgrade == nil {
		return nil, errors.New("inventory has no database or upgrade block")
	}
	th := inv.ToolsHost()
	if th == nil {
		return nil, errors.New("inventory has no database tools host")
	}
	return &sshConnector{inv: inv, tools: th.Name, hosts: map[string]*agentHost{}, dial: sshremote.Dial}, nil
}

type sshConnector struct {
	inv   *inventory.Inventory
	tools string
	dial  func(context.Context, *sshremote.Config) (*sshremote.Client, error)

	mu    sync.Mutex
	hosts map[string]*agentHost
}

// host is name's connection, dialled (and the agent delivered) on first
// use. A connection SSH refused for good (host key, authentication) is
// marked fleet.Permanent: the runner does not try it again.
func (c *sshConnector) host(ctx context.Context, name string) (ah *agentHost, err error) {
	defer func() {
		if sshremote.IsFatal(err) {
			err = fleet.Permanent(err)
		}
	}()
	return keycache.Get(&c.mu, c.hosts, name, func() (*agentHost, error) { return c.dialHost(ctx, name) },
		func(ah *agentHost) { ah.close() })
}

// dialHost dials name and delivers the agent there.
func (c *sshConnector) dialHost(ctx context.Context, name string) (*agentHost, error) {
	h := c.inv.Host(name)
	if h == nil {
		return nil, fmt.Errorf("host %s is not in the inventory", name)
	}
	cfg, err := SSHConfig(c.inv, h)
	if err != nil {
		return nil, err
	}
	cl, err := c.dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ah := &agentHost{name: name, ssh: cl}
	kind := c.agentKind(name)
	newClient := func(cl *sshremote.Client) *agentclient.Client {
		return agentclient.New(cl, agentclient.Options{Become: cfg.Become != nil, Kind: kind,
			Observe: func(rep *agentproto.Reply) { ah.time.add(string(rep.Op), rep.Duration) }})
	}
	ah.ac = newClient(cl)
	ah.redial = func(ctx context.Context) (*sshremote.Client, *agentclient.Client, error) {
		cl, err := c.dial(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		ac := newClient(cl)
		if _, err := ac.Deliver(ctx, nil); err != nil {
			ac.Close()
			cl.Close()
			return nil, nil, err
		}
		return cl, ac, nil
	}
	d, err := ah.ac.Deliver(ctx, nil)
	if err != nil {
		ah.ac.Close()
		cl.Close()
		return nil, err
	}
	ah.delivery = d
	return ah, nil
}

// agentKind is the agent name receives: only the database tools host's
// agent carries the database operations (and pgx); a Kong node gets the
// lean node agent.
func (c *sshConnector) agentKind(name string) agentclient.Kind {
	if name == c.tools {
		return agentclient.KindTools
	}
	return agentclient.KindNode
}

// AgentDelivery sums what delivering the agent cost this run: the hosts
// reached and the bytes uploaded (0 when every host already had this
// agent).
func (c *sshConnector) AgentDelivery() fleet.AgentDelivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d fleet.AgentDelivery
	for _, ah := range c.hosts {
		if ah.delivery == nil {
			continue
		}
		d.Hosts++
		d.UploadedBytes += ah.delivery.Uploaded
		if ah.delivery.Uploaded > 0 {
			d.UploadedTo++
		}
	}
	return d
}

// Transport sums what reaching the hosts cost this run (fleet.Transport).
func (c *sshConnector) Transport() fleet.Transport {
	c.mu.Lock()
	hosts := slices.Collect(maps.Values(c.hosts))
	c.mu.Unlock()
	var t fleet.Transport
	for _, ah := range hosts {
		h := ah.transport()
		t.Hosts++
		t.SSHSessions += h.SSHSessions
		t.AgentProcesses += h.AgentProcesses
		if ah.delivery != nil {
			t.UploadedBytes += ah.delivery.Uploaded
		}
	}
	return t
}

func (c *sshConnector) Node(ctx context.Context, name string) (fleet.Node, error) {
	ah, err := c.host(ctx, name)
	if err != nil {
		return nil, err
	}
	u := c.inv.Upgrade
	mgr := agentproto.ManagerKongCLI
	if u.ServiceManager == "systemd" {
		mgr = agentproto.ManagerSystemd
	}
	// A reference that does not resolve is preflight's finding
	// (checkSecrets); the node then calls without a token.
	tok, _ := c.inv.AdminToken()
	return &agentNode{h: ah, conf: u.KongConf, prefix: u.Prefix, manager: mgr, envFile: u.ServiceEnvFile, staged: map[string]string{}, token: string(tok)}, nil
}

func (c *sshConnector) dbConn() (agentproto.DBConn, error) {
	return dbConnOf(c.inv.Database, "database")
}

// dbConnOf is the agent's connection to db (the database block, or the
// dual-cluster's target server: what names it in errors), its password
// resolved and its CA read.
func dbConnOf(db *inventory.Database, what string) (agentproto.DBConn, error) {
	conn := agentproto.DBConn{Host: db.Host, Port: db.Port, User: db.User, Database: db.Name, Schema: db.Schema, SSLMode: db.TLSMode}
	pw, err := db.Password()
	if err != nil {
		return conn, fmt.Errorf("resolve the %s password reference: %w", what, err)
	}
	conn.Password = string(pw)
	if db.CAFile != "" {
		ca, err := os.ReadFile(db.CAFile)
		if err != nil {
			return conn, fmt.Errorf("read the %s CA (%s.ca_file): %w", what, strings.ReplaceAll(what, " ", "_"), err)
		}
		conn.CACert = string(ca)
	}
	return conn, nil
}

func (c *sshConnector) Database(ctx context.Context) (fleet.Database, error) {
	ah, conn, err := c.toolsDB(ctx)
	if err != nil {
		return nil, err
	}
	target, err := c.targetConn(conn)
	if err != nil {
		return nil, err
	}
	return &agentDB{h: ah, conn: conn, target: target}, nil
}

func (c *sshConnector) Locker(ctx context.Context) (fleet.Locker, error) {
	ah, conn, err := c.toolsDB(ctx)
	if err != nil {
		return nil, err
	}
	return &agentLocker{h: ah, conn: conn, ttl: 2 * time.Minute}, nil
}

// toolsDB connects to the tools host and reads the database connection
// its agent will use: what Database and Locker both speak through.
func (c *sshConnector) toolsDB(ctx context.Context) (*agentHost, agentproto.DBConn, error) {
	ah, err := c.host(ctx, c.tools)
	if err != nil {
		return nil, agentproto.DBConn{}, err
	}
	conn, err := c.dbConn()
	if err != nil {
		return nil, agentproto.DBConn{}, err
	}
	return ah, conn, nil
}

// Reconnect replaces the lost connection to host (and its agent client)
// in place; a host never connected is dialled by its next use.
func (c *sshConnector) Reconnect(ctx context.Context, host string) error {
	c.mu.Lock()
	ah := c.hosts[host]
	c.mu.Unlock()
	if ah == nil {
		return nil
	}
	return ah.reconnect(ctx)
}

// Close ends every host's agent session and connection, the hosts at
// once (a session on a connection gone silent takes seconds to give up).
func (c *sshConnector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, 0, len(c.hosts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ah := range c.hosts {
		wg.Go(func() {
			err := ah.close()
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	c.hosts = map[string]*agentHost{}
	return errors.Join(errs...)
}
