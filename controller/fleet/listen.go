package fleet

import "strings"

// FirstListen is the first entry of a Kong *_listen setting ("off" when
// the listener is turned off).
func FirstListen(listen string) string {
	return strings.TrimSpace(strings.Split(listen, ",")[0])
}
