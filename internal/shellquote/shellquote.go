// Package shellquote quotes words for a POSIX shell command line: the one
// quoting kongctl uses wherever it builds a command for sh (over SSH, for
// sudo, in the lab).
package shellquote

import "strings"

// safe are the bytes a word may hold and still go unquoted.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@"

// Quote returns s as one shell word: s itself when it is not empty and
// holds only letters, digits and /._-+=:,@; otherwise s in single quotes,
// each embedded single quote written as '\”.
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
