package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// The controller's kong.conf rules name each offending key by file and
// line: the agent reports every entry with its line, secrets left out.
func TestConfEntriesLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kong.conf")
	body := "# Kong configuration\n\nprefix = /usr/local/kong\n  # nginx_optimizations = off\nNGINX_OPTIMIZATIONS = on\npg_password = s3cr\\#t   # secret\n\ncluster_cert_key = /etc/kong/cluster.key\nnginx_proxy_ssl = off\nadmin_gui_session_conf = {\"secret\":\"x\"}\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadKongConf(p)
	if err != nil {
		t.Fatal(err)
	}
	f := c.facts("2.8.4")
	want := []agentproto.ConfEntry{
		{Key: "prefix", Value: "/usr/local/kong", Line: 3},
		{Key: "nginx_optimizations", Value: "on", Line: 5},
		{Key: "pg_password", Line: 6},
		{Key: "cluster_cert_key", Line: 8},
		{Key: "nginx_proxy_ssl", Value: "off", Line: 9},
		{Key: "admin_gui_session_conf", Line: 10},
	}
	if f.Path != p || !reflect.DeepEqual(f.Entries, want) {
		t.Fatalf("entries of %s:\n got %+v\nwant %+v", f.Path, f.Entries, want)
	}
}
