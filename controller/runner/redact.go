package runner

import (
	"regexp"
	"strings"
)

// redactor removes secrets from anything the controller prints: event
// messages, errors and reports. Known secret values are replaced, and so
// is anything that looks like a password assignment.
type redactor struct {
	secrets []string
}

const redacted = "[REDACTED]"

// passwordAssign matches "pg_password=x", "PGPASSWORD: x", "password = x".
var passwordAssign = regexp.MustCompile(`(?i)((?:pg_|kong_pg_|pg)?password\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`)

func (r *redactor) add(secret []byte) {
	s := strings.TrimSpace(string(secret))
	if len(s) < 3 {
		// Too short to replace without mangling text; still never printed
		// by the controller itself.
		return
	}
	r.secrets = append(r.secrets, s)
}

func (r *redactor) redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return passwordAssign.ReplaceAllString(s, "${1}"+redacted)
}

func (r *redactor) err(err error) string {
	if err == nil {
		return ""
	}
	return r.redact(err.Error())
}
