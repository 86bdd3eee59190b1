package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/kongctl/kongctl/inventory"
)

// SpecFromInventory builds the controller's view of an upgrade. limit
// restricts the hosts; when wholeFleet is set (upgrade, rollback) it must
// keep every node that shares the database, since an in-place upgrade
// stops them all.
func SpecFromInventory(inv *inventory.Inventory, limit string, wholeFleet bool) (*Spec, error) {
	if inv.Upgrade == nil || inv.Database == nil {
		return nil, errors.New("inventory has no upgrade or database block")
	}
	selected, err := inv.Select(limit)
	if err != nil {
		return nil, err
	}
	in := func(h *inventory.Host) bool { return slices.Contains(selected, h) }
	u := inv.Upgrade
	s := &Spec{
		InventoryPath:    inv.Path,
		StateDir:         StateDirOf(inv),
		From:             u.From.String(),
		To:               u.To.String(),
		from:             u.From, // parsed by the inventory, kept
		to:               u.To,
		Edition:          u.Edition,
		Package:          PackageSpec{Source: PackageSource(u.Package.Source), Dir: u.Package.Dir, Plugins: u.Package.PluginPackages},
		KongConf:         u.KongConf,
		Prefix:           u.Prefix,
		OnFailure:        OnFailure(u.OnFailure),
		StopMode:         StopMode(u.Stop),
		FinishMode:       FinishMode(u.Finish),
		Decommission:     u.Decommission,
		StartBetweenHops: u.StartBetweenHops,
		DataPlaneMode:    DataPlaneMode(u.DataPlanes),
		DPBatch:          u.Batch,
		RestoreDB:        true,
		Hooks:            map[HookPoint][]HookSpec{},
	}
	if b, err := os.ReadFile(inv.Path); err == nil {
		sum := sha256.Sum256(b)
		s.InventoryHash = hex.EncodeToString(sum[:])
	}
	for _, h := range inv.Hosts {
		hs := HostSpec{Name: h.Name, Address: h.Address}
		for _, r := range h.Roles {
			hs.Roles = append(hs.Roles, string(r))
		}
		s.Hosts = append(s.Hosts, hs)
	}
	var missing []string
	order := u.Order
	if len(order) == 0 {
		for _, h := range inv.Hosts {
			order = append(order, h.Name)
		}
	}
	for _, name := range order {
		h := inv.Host(name)
		if h == nil || !h.CanMigrate() {
			continue
		}
		if !in(h) {
			missing = append(missing, h.Name)
			continue
		}
		s.Nodes = append(s.Nodes, h.Name)
	}
	if wholeFleet && len(missing) > 0 {
		return nil, fmt.Errorf("--limit %q leaves out %v: every node sharing the database is stopped and upgraded together in place", limit, missing)
	}
	for _, h := range inv.HostsWithRole(inventory.RoleDataPlane) {
		if in(h) {
			s.DataPlanes = append(s.DataPlanes, h.Name)
		}
	}
	for _, h := range inv.HostsWithRole(inventory.RoleSpare) {
		if in(h) {
			s.Spares = append(s.Spares, h.Name)
		}
	}
	if rs := inv.HostsWithRole(inventory.RoleRehearsal); len(rs) > 0 {
		s.Rehearsal = rs[0].Name
	}
	s.NewHosts = len(s.Spares) > 0
	if s.NewHosts {
		s.MigrationHost = s.Spares[0]
	} else if u.MigrationHost != "" {
		s.MigrationHost = u.MigrationHost
	} else if c := inv.MigrationCandidates(); len(c) > 0 {
		s.MigrationHost = c[0].Name
	}
	if th := inv.ToolsHost(); th != nil {
		s.ToolsHost = th.Name
	}
	s.MigrationsDBTimeout, s.MigrationsLockTimeout = u.MigrationTimeouts.DBTimeout, u.MigrationTimeouts.LockTimeout
	db := inv.Database
	s.DB = DBSpec{Host: db.Host, Port: db.Port, Name: db.Name, User: db.User, Schema: db.Schema, TLSMode: db.TLSMode, CAFile: db.CAFile}
	if !db.Secret.IsZero() {
		s.DB.Password = db.Password
	}
	if inv.Kong != nil && !inv.Kong.AdminToken.IsZero() {
		s.AdminToken = inv.AdminToken
	}
	if inv.Kong != nil {
		s.KeyringExportFile = inv.Kong.KeyringExport
	}
	if inv.Preflight != nil {
		s.AcceptConf = inv.Preflight.Accept
	}
	for _, hk := range inv.Hooks {
		spec := HookSpec{Name: hk.Event, Command: hk.Command, Timeout: hk.Timeout, ContinueOnError: hk.ContinueOnError, PerNode: hk.PerNode}
		if spec.Timeout == 0 {
			spec.Timeout = inv.Timeouts.Hook
		}
		if hk.On == inventory.OnBastion || hk.On == "" {
			spec.OnBastion = true
		} else {
			for _, h := range inv.Expand(hk.On) {
				spec.Hosts = append(spec.Hosts, h.Name)
			}
		}
		p := HookPoint(hk.Event)
		s.Hooks[p] = append(s.Hooks[p], spec)
	}
	s.LB = lbSpecOf(inv, in)
	if u.Strategy == inventory.StrategyDualCluster {
		s.DualCluster, s.TargetDB, s.Shift = true, u.TargetDatabase, slices.Clone(u.Shift)
		s.ReplaceTarget = u.ReplaceTargetDatabase
		s.TargetServer = targetServerOf(u.TargetServer)
		if s.LB != nil {
			// Y's servers: in the backend beside X's, without traffic
			// until the shift.
			for _, h := range s.Spares {
				s.LB.Servers[h] = inv.Host(h).LBServerOf()
			}
		}
	}
	if v := inv.Verify; v != nil {
		s.Verify.Soak = v.Soak
		s.Verify.Interval = v.Health.Interval
		s.Timeouts.Health = v.Health.Timeout
		if v.Gate.MaxErrorRate < 1 {
			s.Verify.MaxErrorRate = v.Gate.MaxErrorRate
		}
		if v.Gate.Max5xx >= 0 {
			m := v.Gate.Max5xx
			s.Verify.Max5xx = &m
		}
		s.Verify.MaxLatencyP99 = v.Gate.MaxLatencyP99
		s.Verify.MinRequests = v.Gate.MinRequests
		for _, sm := range v.Smoke {
			s.Verify.Smoke = append(s.Verify.Smoke, SmokeSpec{Name: sm.Name, Path: sm.Path, Host: sm.Host, Status: sm.Status})
		}
	}
	if b := inv.Backup; b != nil {
		s.Backup = BackupSpec{Dir: b.Dir, LocalDir: b.LocalDir, Retention: b.Retention, EncryptTo: b.EncryptTo, IdentityFile: b.IdentityFile}
	}
	t := inv.Timeouts
	s.Timeouts.Stop, s.Timeouts.Install, s.Timeouts.Migrations, s.Timeouts.Start = t.Stop, t.Install, t.Migrations, t.Start
	s.Timeouts.DataPlane = u.DataPlaneTimeout
	s.Timeouts.Preflight, s.Timeouts.Backup, s.Timeouts.Verify, s.Timeouts.Rollback = t.Preflight, t.Backup, t.Verify, t.Rollback
	s.Concurrency, s.UploadConcurrency = inv.SSH.Concurrency, inv.SSH.UploadConcurrency
	return s, nil
}
