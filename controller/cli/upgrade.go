package cli

import (
	"github.com/spf13/cobra"

	"github.com/kongctl/kongctl/kongver"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/inventory"
)

type upgradeOptions struct {
	changeFlags
	targetFlags
	resume       bool
	onFailure    string
	decommission bool
	noRehearsal  bool
}

// upgradeRequest is what `kongctl upgrade` asks of the controller.
type upgradeRequest struct {
	*changeRequest
	Resume    bool   // continue the run recorded in the journal
	OnFailure string // "rollback" or "pause" (flag, else inventory)
	// Decommission: remove Kong from the old hosts after the new ones
	// passed verify (flag, else upgrade.decommission).
	Decommission bool
	// NoRehearsal: go on without the rehearsal on the rehearsal host
	// (--no-rehearsal).
	NoRehearsal bool
	// The target version is Inventory.Upgrade.To, with --to applied.
}

func (a *app) newUpgradeCmd() *cobra.Command {
	var o upgradeOptions
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Upgrade the fleet to the inventory's target version",
		Long: `Upgrade every Kong node in the inventory in place: preflight, freeze and
verified backup, stop, install the new package, run migrations on one node,
start, verify; roll back (or pause) when a step fails.`,
		Example: `  kongctl upgrade -i hosts.hcl
  kongctl upgrade -i hosts.hcl --yes --on-failure=pause
  kongctl upgrade -i hosts.hcl --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := a.parseUpgrade(o)
			if err != nil {
				return err
			}
			if err := req.consent("upgrade"); err != nil {
				return err
			}
			return runUpgrade(cmd.Context(), req)
		},
	}
	f := cmd.Flags()
	a.addTargetFlags(cmd, &o.targetFlags, limitWholeFleet)
	f.BoolVar(&o.resume, "resume", false, "resume an interrupted or paused upgrade")
	f.StringVar(&o.onFailure, "on-failure", "", "what to do when a step fails: rollback or pause (default from the inventory, else rollback)")
	f.BoolVar(&o.decommission, "decommission", false, "upgrading onto new hosts (role spare): once they pass verify, remove Kong from the old hosts, keeping their kong.conf on the bastion (default from upgrade.decommission)")
	f.BoolVar(&o.noRehearsal, "no-rehearsal", false, "skip the rehearsal of the migrations on the host with role rehearsal (required to go on when the database user cannot create the scratch database)")
	addChangeFlags(cmd, &o.changeFlags)
	_ = cmd.RegisterFlagCompletionFunc("on-failure", cobra.FixedCompletions([]string{"rollback", "pause"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) parseUpgrade(o upgradeOptions) (*upgradeRequest, error) {
	switch o.onFailure {
	case "", "rollback", "pause":
	default:
		return nil, usageErrorf("--on-failure must be rollback or pause, not %q", o.onFailure)
	}
	if err := checkReportFile(o.report); err != nil {
		return nil, err
	}
	req, err := a.targetRequest(o.targetFlags)
	if err != nil {
		return nil, err
	}
	u := req.Inventory.Upgrade
	if o.limit != "" {
		// A subset of the fleet is a usage error, found before any host.
		if _, err := controller.SpecFromInventory(req.Inventory, o.limit, true); err != nil {
			return nil, WithCode(ExitUsage, err)
		}
	}
	onFailure := u.OnFailure
	if o.onFailure != "" {
		onFailure = o.onFailure
	}
	if o.decommission && len(req.Inventory.HostsWithRole(inventory.RoleSpare)) == 0 {
		return nil, usageErrorf("--decommission removes Kong from the old hosts of an upgrade onto new hosts (role spare); this inventory has none")
	}
	return &upgradeRequest{changeRequest: o.request(req), Resume: o.resume, OnFailure: onFailure, Decommission: o.decommission || u.Decommission, NoRehearsal: o.noRehearsal}, nil
}

// targetFlags are the flags of the commands that aim the fleet at a
// target version (plan, upgrade): --limit and --to.
type targetFlags struct {
	limit string
	to    string
}

// addTargetFlags adds --limit, with usage saying what the command
// accepts, and --to, the target version overriding upgrade.to.
func (a *app) addTargetFlags(cmd *cobra.Command, f *targetFlags, limitUsage string) {
	a.addLimitFlag(cmd, &f.limit, limitUsage)
	cmd.Flags().StringVar(&f.to, "to", "", "target version, overriding upgrade.to in the inventory")
}

// targetRequest is the request for --limit with --to applied to the
// inventory's upgrade.to. --to is parsed first, so a malformed flag is
// reported before the inventory is loaded.
func (a *app) targetRequest(f targetFlags) (*request, error) {
	to, err := parseTo(f.to)
	if err != nil {
		return nil, err
	}
	req, err := a.newRequest(f.limit)
	if err != nil {
		return nil, err
	}
	if err := applyTo(req.Inventory.Upgrade, to); err != nil {
		return nil, err
	}
	return req, nil
}

// parseTo parses --to ("" = not given). It runs before the inventory is
// loaded, so a malformed flag is reported first.
func parseTo(s string) (kongver.Version, error) {
	if s == "" {
		return kongver.Version{}, nil
	}
	v, err := kongver.Parse(s)
	if err != nil {
		return kongver.Version{}, usageErrorf("--to: %w", err)
	}
	return v, nil
}

// applyTo makes a given --to the inventory's upgrade.to, once it is checked
// against the inventory's edition and from version.
func applyTo(u *inventory.Upgrade, to kongver.Version) error {
	if to.IsZero() {
		return nil
	}
	if err := checkTarget(u, to); err != nil {
		return err
	}
	u.To = to
	return nil
}

// checkTarget validates a --to version against the inventory's edition and
// from version.
func checkTarget(u *inventory.Upgrade, to kongver.Version) error {
	switch {
	case u.Edition == inventory.EditionEnterprise && !to.FourPart():
		return usageErrorf("--to %s: Kong Gateway Enterprise versions have four numbers (x.y.z.w)", to)
	case u.Edition == inventory.EditionOSS && to.FourPart():
		return usageErrorf("--to %s: Kong Gateway (OSS) versions have three numbers (x.y.z); set edition = \"enterprise\" in the inventory for Enterprise", to)
	case !u.From.IsZero() && to.Compare(u.From) <= 0:
		return usageErrorf("--to %s is not newer than upgrade.from %s: an in-place downgrade is not supported; the nearest valid target is a %s.x patch release above %s", to, u.From, u.From.Series(), u.From)
	}
	return nil
}
