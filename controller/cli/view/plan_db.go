package view

import (
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller"
)

// writePlanDB writes each node's effective database settings and where
// each comes from (defaults < kong.conf < the service's KONG_*
// environment, kong-reference 3.2): the settings `kong migrations` will
// run with. Secrets come as "set" or "not set" from the facts.
func writePlanDB(b *strings.Builder, hosts []controller.PlanHost) {
	some := false
	for _, h := range hosts {
		some = some || len(h.DB) > 0
	}
	if !some {
		return
	}
	b.WriteString("\ndatabase settings (effective: defaults < kong.conf < service environment):\n")
	for _, h := range hosts {
		if len(h.DB) == 0 {
			continue
		}
		env := "service environment: none read"
		if h.EnvSource != "" {
			env = "service environment from " + h.EnvSource
		}
		fmt.Fprintf(b, "  %s (%s)\n", h.Name, env)
		tw := columns(b)
		for _, s := range h.DB {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", s.Key, dash(s.Value), s.Source)
		}
		tw.Flush()
	}
}
