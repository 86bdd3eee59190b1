package sshfleet

import (
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// listenURL turns the first entry of a Kong *_listen setting into a URL.
func listenURL(listen, def string) string {
	first := fleet.FirstListen(listen)
	if first == "" || first == "off" {
		first = def
	}
	addr := strings.Fields(first)[0]
	addr = strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
	scheme := "http"
	if strings.Contains(first, " ssl") {
		scheme = "https"
	}
	return scheme + "://" + addr
}
