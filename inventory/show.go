package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Document is the resolved inventory as an ordered tree of attributes and
// blocks, with defaults filled in and paths absolute. It holds no secrets:
// passwords appear only as their references (password_env, password_file).
// It renders as HCL native syntax (WriteHCL) and as HCL JSON syntax
// (MarshalJSON); both load back as an equivalent inventory.
type Document struct {
	items []docItem
}

type docItem struct {
	name   string
	value  cty.Value // attribute, when block is nil
	labels []string
	block  *Document
}

func (d *Document) attr(name string, v cty.Value) {
	d.items = append(d.items, docItem{name: name, value: v})
}

func (d *Document) str(name, v string) { d.attr(name, cty.StringVal(v)) }

func (d *Document) strIf(name, v string) {
	if v != "" {
		d.str(name, v)
	}
}

// listIf writes a list attribute only when it has elements.
func (d *Document) listIf(name string, v []string) {
	if len(v) > 0 {
		d.list(name, v)
	}
}

// flag writes a bool attribute only when it is set (false is the
// default).
func (d *Document) flag(name string, v bool) {
	if v {
		d.attr(name, cty.True)
	}
}

func (d *Document) num(name string, v int) { d.attr(name, cty.NumberIntVal(int64(v))) }

func (d *Document) dur(name string, v time.Duration) { d.str(name, formatDuration(v)) }

func (d *Document) list(name string, v []string) {
	if len(v) == 0 {
		d.attr(name, cty.ListValEmpty(cty.String))
		return
	}
	vals := make([]cty.Value, len(v))
	for i, s := range v {
		vals[i] = cty.StringVal(s)
	}
	d.attr(name, cty.ListVal(vals))
}

func (d *Document) sub(typ string, labels ...string) *Document {
	b := &Document{}
	d.items = append(d.items, docItem{name: typ, labels: labels, block: b})
	return b
}

// formatDuration prints whole hours, minutes or seconds compactly ("90s"
// stays "1m30s").
func formatDuration(v time.Duration) string {
	switch {
	case v == 0:
		return "0s"
	case v%time.Hour == 0:
		return strconv.FormatInt(int64(v/time.Hour), 10) + "h"
	case v%time.Minute == 0:
		return strconv.FormatInt(int64(v/time.Minute), 10) + "m"
	}
	return v.String()
}

// Redacted returns the resolved inventory as a Document that is safe to
// print or log.
func Redacted(inv *Inventory) *Document {
	doc := &Document{}
	writeSSH(doc.sub("ssh"), inv.SSH, nil)
	for _, h := range inv.Hosts {
		b := doc.sub("host", h.Name)
		b.str("address", h.Address)
		b.num("port", h.Port)
		roles := make([]string, len(h.Roles))
		for i, r := range h.Roles {
			roles[i] = string(r)
		}
		b.list("roles", roles)
		b.listIf("tags", h.Tags)
		b.strIf("host_key", h.HostKey)
		b.strIf("lb_server", h.LBServer)
		global := inv.SSH
		s := &Document{}
		writeSSH(s, h.SSH, &global)
		if len(s.items) > 0 {
			b.items = append(b.items, docItem{name: "ssh", block: s})
		}
	}
	for _, g := range inv.Groups {
		doc.sub("group", g.Name).list("hosts", g.Hosts)
	}
	if db := inv.Database; db != nil {
		b := doc.sub("database")
		b.str("host", db.Host)
		b.num("port", db.Port)
		b.str("name", db.Name)
		b.str("user", db.User)
		b.str("schema", db.Schema)
		b.str("tls_mode", db.TLSMode)
		b.strIf("ca_file", db.CAFile)
		writeSecret(b, db.Secret)
		if th := inv.ToolsHost(); th != nil {
			b.str("tools_host", th.Name)
		}
	}
	if u := inv.Upgrade; u != nil {
		b := doc.sub("upgrade")
		b.strIf("from", u.From.String())
		b.str("to", u.To.String())
		b.str("edition", string(u.Edition))
		b.str("kong_conf", u.KongConf)
		b.str("prefix", u.Prefix)
		b.str("service_manager", u.ServiceManager)
		b.strIf("service_env_file", u.ServiceEnvFile)
		b.strIf("migration_host", u.MigrationHost)
		b.str("on_failure", u.OnFailure)
		b.str("stop", u.Stop)
		b.str("finish", u.Finish)
		b.flag("decommission", u.Decommission)
		if u.Strategy == StrategyDualCluster {
			b.str("strategy", u.Strategy)
			if u.TargetServer != nil {
				b.attr("target_database", targetServerValue(u.TargetServer))
			} else {
				b.str("target_database", u.TargetDatabase)
			}
			b.listIf("shift", shiftText(u.Shift))
			b.flag("replace_target_database", u.ReplaceTargetDatabase)
		}
		b.flag("start_between_hops", u.StartBetweenHops)
		b.listIf("order", u.Order)
		p := b.sub("package")
		p.str("source", u.Package.Source)
		p.strIf("dir", u.Package.Dir)
		p.listIf("plugin_packages", u.Package.PluginPackages)
	}
	for _, hk := range inv.Hooks {
		b := doc.sub("hook", hk.Event)
		b.str("command", hk.Command)
		b.str("on", hk.On)
		if hk.Timeout > 0 {
			b.dur("timeout", hk.Timeout)
		}
		b.flag("continue_on_error", hk.ContinueOnError)
		b.flag("per_node", hk.PerNode)
	}
	if v := inv.Verify; v != nil {
		b := doc.sub("verify")
		b.dur("soak", v.Soak)
		hb := b.sub("health")
		hb.dur("timeout", v.Health.Timeout)
		hb.dur("interval", v.Health.Interval)
		for _, s := range v.Smoke {
			sb := b.sub("smoke")
			sb.strIf("name", s.Name)
			sb.str("path", s.Path)
			sb.strIf("host", s.Host)
			sb.num("status", s.Status)
		}
		gb := b.sub("gate")
		gb.attr("max_error_rate", cty.NumberFloatVal(v.Gate.MaxErrorRate))
		if v.Gate.Max5xx >= 0 {
			gb.num("max_5xx", v.Gate.Max5xx)
		}
		if v.Gate.MaxLatencyP99 > 0 {
			gb.dur("max_latency_p99", v.Gate.MaxLatencyP99)
		}
		gb.num("min_requests", v.Gate.MinRequests)
	}
	if bk := inv.Backup; bk != nil {
		b := doc.sub("backup")
		b.str("dir", bk.Dir)
		b.str("local_dir", bk.LocalDir)
		b.num("retention", bk.Retention)
		b.listIf("encrypt_to", bk.EncryptTo)
		b.strIf("identity_file", bk.IdentityFile)
	}
	if k := inv.Kong; k != nil {
		b := doc.sub("kong")
		b.strIf("admin_token_env", k.AdminToken.Env)
		b.strIf("admin_token_file", k.AdminToken.File)
		b.strIf("keyring_export_file", k.KeyringExport)
	}
	if p := inv.Preflight; p != nil {
		doc.sub("preflight").list("accept", p.Accept)
	}
	if lb := inv.LoadBalancer; lb != nil {
		b := doc.sub("load_balancer", lb.Kind)
		b.str("host", lb.Host)
		b.str("backend", lb.Backend)
		b.str("socket", lb.Socket)
		b.dur("drain_timeout", lb.DrainTimeout)
	}
	tb := doc.sub("timeouts")
	for _, f := range inv.Timeouts.fields() {
		tb.dur(f.name, *f.p)
	}
	return doc
}

// writeSSH writes s; with base non-nil only the settings that differ from
// base (a host's overrides).
func writeSSH(d *Document, s SSH, base *SSH) {
	diff := func(same bool) bool { return base == nil || !same }
	if diff(base != nil && s.User == base.User) {
		d.str("user", s.User)
	}
	if diff(base != nil && slices.Equal(s.PrivateKeys, base.PrivateKeys)) {
		d.list("private_keys", s.PrivateKeys)
	}
	if diff(base != nil && s.UseAgent == base.UseAgent) {
		d.attr("use_agent", cty.BoolVal(s.UseAgent))
	}
	if diff(base != nil && slices.Equal(s.KnownHosts, base.KnownHosts)) {
		d.list("known_hosts", s.KnownHosts)
	}
	if diff(base != nil && s.HostKeyPolicy == base.HostKeyPolicy) {
		d.str("host_key_policy", string(s.HostKeyPolicy))
	}
	if diff(base != nil && slices.Equal(s.Jump, base.Jump)) {
		d.list("jump", s.Jump)
	}
	// Always at fleet level: "" (off) must load back as off, not as the
	// default ~/.ssh/config.
	if diff(base != nil && s.SSHConfig == base.SSHConfig) {
		d.str("ssh_config", s.SSHConfig)
	}
	if diff(base != nil && s.ConnectTimeout == base.ConnectTimeout) {
		d.dur("connect_timeout", s.ConnectTimeout)
	}
	if diff(base != nil && s.Keepalive == base.Keepalive) {
		d.dur("keepalive", s.Keepalive)
	}
	if diff(base != nil && s.ConnectRetries == base.ConnectRetries) {
		d.num("connect_retries", s.ConnectRetries)
	}
	if base == nil {
		d.num("concurrency", s.Concurrency)
		d.num("upload_concurrency", s.UploadConcurrency)
	}
	var baseBecome *Become
	if base != nil {
		baseBecome = base.Become
	}
	switch {
	case s.Become != nil && (base == nil || baseBecome == nil || *s.Become != *baseBecome):
		b := d.sub("become")
		b.str("method", s.Become.Method)
		b.str("user", s.Become.User)
		writeSecret(b, s.Become.Password)
	case s.Become == nil && base != nil && baseBecome != nil:
		d.sub("become").str("method", "none")
	}
}

func writeSecret(d *Document, s Secret) {
	d.strIf("password_env", s.Env)
	d.strIf("password_file", s.File)
}

// WriteHCL writes the document in HCL native syntax.
func (d *Document) WriteHCL(w io.Writer) error {
	f := hclwrite.NewEmptyFile()
	d.fill(f.Body())
	_, err := w.Write(f.Bytes())
	return err
}

func (d *Document) fill(body *hclwrite.Body) {
	for i, it := range d.items {
		if it.block == nil {
			body.SetAttributeValue(it.name, it.value)
			continue
		}
		if i > 0 {
			body.AppendNewline()
		}
		it.block.fill(body.AppendNewBlock(it.name, it.labels).Body())
	}
}

// MarshalJSON renders the document in HCL JSON syntax: repeated blocks of
// a type are grouped under one property, labelled blocks nest by label.
func (d *Document) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.writeJSON(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (d *Document) writeJSON(buf *bytes.Buffer) error {
	buf.WriteByte('{')
	var order []string
	groups := map[string][]docItem{}
	for _, it := range d.items {
		if _, ok := groups[it.name]; !ok {
			order = append(order, it.name)
		}
		groups[it.name] = append(groups[it.name], it)
	}
	for i, name := range order {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		items := groups[name]
		if items[0].block == nil {
			v := escapeTemplates(items[0].value)
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return fmt.Errorf("marshal %s: %w", name, err)
			}
			buf.Write(b)
			continue
		}
		if err := writeBlocksJSON(buf, items); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// writeBlocksJSON writes blocks of one type: unlabelled ones as an object
// (one) or array (several); labelled ones as an object keyed by label.
func writeBlocksJSON(buf *bytes.Buffer, items []docItem) error {
	if len(items[0].labels) == 0 {
		if len(items) == 1 {
			return items[0].block.writeJSON(buf)
		}
		buf.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := it.block.writeJSON(buf); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	var order []string
	byLabel := map[string][]docItem{}
	for _, it := range items {
		l := it.labels[0]
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], docItem{name: it.name, labels: it.labels[1:], block: it.block})
	}
	buf.WriteByte('{')
	for i, l := range order {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(l)
		buf.Write(key)
		buf.WriteByte(':')
		if err := writeBlocksJSON(buf, byLabel[l]); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// MarshalJSON renders the inventory redacted, as Redacted(inv) does, so
// that encoding an Inventory can never leak a secret.
func (inv *Inventory) MarshalJSON() ([]byte, error) { return Redacted(inv).MarshalJSON() }

// escapeTemplates escapes "${" and "%{" in strings: HCL JSON syntax reads
// every string as a template.
func escapeTemplates(v cty.Value) cty.Value {
	esc := func(s string) string {
		return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	}
	switch {
	case v.Type() == cty.String && v.IsKnown() && !v.IsNull():
		return cty.StringVal(esc(v.AsString()))
	case v.Type().IsListType() && v.LengthInt() > 0:
		var out []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, escapeTemplates(e))
		}
		return cty.ListVal(out)
	}
	return v
}
