package cli

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kongctl/kongctl/inventory"
)

// request is what every fleet command hands to its engine: the validated
// inventory, the hosts --limit selected, and the invocation's I/O.
type request struct {
	Inventory *inventory.Inventory
	Path      string            // the inventory file as given (-i)
	Limit     string            // --limit as given
	Identity  string            // --identity: the age identity file of encrypted backups (upgrade, rollback)
	StateDir  string            // run journals ($KONGCTL_STATE_DIR; default .kongctl beside the inventory)
	Hosts     []*inventory.Host // selected by --limit (all hosts without it)
	JSON      bool              // --output json: results on Stdout as JSON
	Quiet     bool
	Color     bool // stderr may carry ANSI colour
	Stdin     io.Reader
	Stdout    io.Writer // results only
	Stderr    io.Writer // progress, logs, prompts
	Log       *slog.Logger
}

// newRequest loads the inventory and applies --limit.
func (a *app) newRequest(limit string) (*request, error) {
	inv, err := a.loadInventory()
	if err != nil {
		return nil, err
	}
	hosts, err := selectHosts(inv, limit)
	if err != nil {
		return nil, err
	}
	return &request{
		Inventory: inv,
		Path:      a.inventoryFile(),
		Limit:     limit,
		StateDir:  a.getenv(EnvStateDir),
		Hosts:     hosts,
		JSON:      a.json(),
		Quiet:     a.quiet,
		Color:     a.color(a.streams.err),
		Stdin:     a.streams.in,
		Stdout:    a.streams.out,
		Stderr:    a.streams.err,
		Log:       a.log,
	}, nil
}

// requireConsent refuses, before any host is touched, a command that asks
// before it stops nodes when nobody can answer: without a terminal on
// stdin it needs --yes (usage error, exit 2).
func (r *request) requireConsent(command string, yes bool) error {
	if yes || isTerminal(r.Stdin) {
		return nil
	}
	return usageErrorf("stdin is not a terminal and --yes was not given: %s asks before it stops any node; pass --yes to run it unattended", command)
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin. Without a terminal on stdin it refuses, so that unattended runs
// must pass --yes.
func (r *request) confirm(question string) (bool, error) {
	if !isTerminal(r.Stdin) {
		return false, usageErrorf("%s: stdin is not a terminal; pass --yes to proceed without asking", question)
	}
	fmt.Fprintf(r.Stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(r.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
