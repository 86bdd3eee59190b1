package agent

import "strings"

// confBool reads a kong.conf boolean as Kong's conf_loader does (on, true,
// yes, 1; anything else is off).
func confBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1":
		return true
	}
	return false
}
