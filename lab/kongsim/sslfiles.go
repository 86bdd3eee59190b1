package kongsim

import (
	"encoding/base64"
	"os"
	"strings"
)

// sslCertErrors is the conf loader's check of the proxy's and the Admin
// API's certificates (kong/conf_loader/parse.lua, check_and_parse): with
// an ssl listener, each ssl_cert / ssl_cert_key entry that is not an
// existing file must parse as a PEM (or base64 PEM) certificate or key,
// else "<prefix>ssl_cert: failed loading certificate from <value>". Every
// command that loads the configuration fails with it, `kong migrations`
// included.
func sslCertErrors(c *Config) []string {
	var errs []string
	for _, prefix := range []string{"", "admin_"} {
		listen := "proxy_listen"
		if prefix != "" {
			listen = prefix + "listen"
		}
		ls, _ := ParseListen(listen, c.Get(listen))
		ssl := false
		for _, l := range ls {
			ssl = ssl || l.SSL
		}
		if !ssl {
			continue
		}
		for _, kw := range [][2]string{{"ssl_cert", "certificate"}, {"ssl_cert_key", "key"}} {
			key, what := kw[0], kw[1]
			for _, v := range strings.Split(c.Get(prefix+key), ",") {
				v = strings.TrimSpace(v)
				if v == "" || inlinePEM(v) {
					continue
				}
				if st, err := os.Stat(v); err == nil && st.Mode().IsRegular() {
					continue
				}
				errs = append(errs, prefix+key+": failed loading "+what+" from "+v)
			}
		}
	}
	return errs
}

// inlinePEM: v is a PEM block, or one in base64, as Kong accepts inline.
func inlinePEM(v string) bool {
	if strings.Contains(v, "-----BEGIN") {
		return true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && strings.Contains(string(b), "-----BEGIN")
}
