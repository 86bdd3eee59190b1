package upgradepath

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/kongver"
)

// PostgreSQL requirements of a Kong version (kong-reference 9.7).

// PGMinVersionNum is Kong's code minimum, constants.DATABASE.POSTGRES.MIN
// = "9.5" in every version from 2.8.0 to the EE tree; on connect Kong
// checks server_version_num against it (kong/db/init.lua
// check_version_compat L251-274) and fails with
// "Kong requires postgres 9.5 or greater (currently using X)".
const PGMinVersionNum = 90500

// PGSupported is the range of PostgreSQL majors Kong documents as
// supported for a Kong version (kong-reference 9.7):
//   - 2.x: 9.5 and later, up to 15 (the legacy support table
//     app/_data/tables/support/gateway/third-party.yml lists 9-15);
//   - 3.0-3.8: 12-16 (documented for 3.4, 3.7 and 3.8; 3.0-3.3 are taken
//     to match 3.4, an inference);
//   - 3.9 and later (3.10 and 3.14 LTS included): 13-17
//     (developer.konghq.com app/_data/products/gateway.yml).
//
// Majors are ranked as major*100, 9.x as 900+x (9.5 = 905, 15 = 1500).
func PGSupported(kong kongver.Version) (lo, hi int) {
	switch {
	case kong.Major < 3:
		return 905, 1500
	case kong.Major == 3 && kong.Minor < 9:
		return 1200, 1600
	}
	return 1300, 1700
}

// pgRank ranks a server_version_num's major: 90624 → 906, 150004 → 1500.
func pgRank(num int) int {
	if num < 100000 {
		return num / 100
	}
	return num / 10000 * 100
}

func pgRankString(r int) string {
	if r < 1000 {
		return fmt.Sprintf("%d.%d", r/100, r%100)
	}
	return strconv.Itoa(r / 100)
}

// PGServer is what preflight learns of the server and of how Kong's
// user authenticates.
type PGServer struct {
	VersionNum         int
	Version            string
	PasswordEncryption string
	// Method is the pg_hba method of the rule that matches Kong's
	// connections ("" unknown); MethodLine its line. Verifier is the kind
	// of the role's stored password ("" unknown).
	Method     string
	MethodLine int
	Verifier   string
}

// PGIssue is a broken requirement: Error refuses the upgrade, otherwise
// it is a warning.
type PGIssue struct {
	Error   bool
	Code    string
	Message string
	Fix     string
}

// PGAuth is the authentication Kong's connection ends up with, and
// whether it is known (from pg_hba) or inferred (from the stored password
// or password_encryption). An md5 rule with a SCRAM verifier does SCRAM
// (PostgreSQL docs, auth-password: "if the password was encrypted using
// SCRAM-SHA-256, SCRAM-based authentication will automatically be
// chosen instead").
func (s PGServer) PGAuth() (method string, known bool) {
	verifier := s.Verifier
	if verifier == "" && s.PasswordEncryption != "" {
		verifier = strings.ToLower(s.PasswordEncryption)
		if verifier == "on" {
			verifier = "md5"
		}
	}
	switch s.Method {
	case "":
		if verifier == "scram-sha-256" || verifier == "md5" {
			return verifier, false
		}
		return "", false
	case "md5":
		if verifier == "scram-sha-256" {
			return "scram-sha-256", s.Verifier != ""
		}
	}
	return s.Method, true
}

// pgmoonMethods are the authentication requests Kong's driver answers
// (leafo/pgmoon pgmoon/init.lua auth: 3 cleartext, 5 md5, 10 SASL from
// 1.13.0); methods that only check the connection (trust, ident, peer,
// cert) send none, and ldap, radius, pam and bsd ask for a cleartext
// password.
var pgmoonMethods = []string{"trust", "password", "md5", "scram-sha-256", "ident", "peer", "cert", "ldap", "radius", "pam", "bsd"}

// CheckPostgres checks the server against Kong Y's requirements: the code
// minimum (an error), the documented range (a warning: Kong starts, but
// an unsupported pairing is the operator's to accept), and the
// authentication method Y's driver must answer (an error when known, a
// warning when inferred).
func CheckPostgres(y kongver.Version, s PGServer) []PGIssue {
	var out []PGIssue
	if s.VersionNum > 0 && s.VersionNum < PGMinVersionNum {
		out = append(out, PGIssue{Error: true, Code: "pg-version",
			Message: fmt.Sprintf("Kong %s requires postgres 9.5 or greater (currently using %s)", y, s.Version),
			Fix:     "upgrade PostgreSQL first (kong-reference 9.7)"})
	} else if s.VersionNum > 0 {
		lo, hi := PGSupported(y)
		if m := pgRank(s.VersionNum); m < lo || m > hi {
			out = append(out, PGIssue{Code: "pg-version-support",
				Message: fmt.Sprintf("PostgreSQL %s is outside the versions Kong documents for %d.%d (%s to %s)", s.Version, y.Major, y.Minor, pgRankString(lo), pgRankString(hi)),
				Fix:     "Kong runs on it but does not support it: move PostgreSQL into the documented range when you can"})
		}
	}
	method, known := s.PGAuth()
	lacks := ""
	switch {
	case method == "scram-sha-256" && (y.Major < 2 || y.Major == 2 && y.Minor < 7):
		// pgmoon 1.12.0 (Kong 2.5, 2.6): "don't know how to auth: 10".
		lacks = "Kong before 2.7 (pgmoon 1.12) cannot answer SCRAM-SHA-256"
	case method == "reject":
		lacks = "pg_hba rejects the Kong user"
	case method != "" && !slices.Contains(pgmoonMethods, method):
		lacks = "Kong's driver (pgmoon) answers cleartext, md5 and SCRAM-SHA-256 only"
	}
	if lacks != "" {
		where := "inferred from the role's password"
		if s.MethodLine > 0 {
			where = fmt.Sprintf("pg_hba.conf line %d", s.MethodLine)
		}
		out = append(out, PGIssue{Error: known, Code: "pg-auth",
			Message: fmt.Sprintf("the Kong user authenticates with %s (%s): %s", method, where, lacks),
			Fix:     "change the pg_hba.conf method for the Kong user (md5 or scram-sha-256 as Y supports), or the stored password, before the upgrade"})
	}
	return out
}

// HBARule is one pg_hba rule, for MatchHBA.
type HBARule struct {
	Line             int
	Type             string
	Databases, Users []string
	Address, Netmask string
	Method           string
}

// MatchHBA finds the first rule PostgreSQL would apply to a TCP
// connection of user to database from any of clients (nil: any address);
// +group and @file entries, and host names, are taken to match. ok is
// false when no rule matches (PostgreSQL then refuses the connection).
func MatchHBA(rules []HBARule, database, user string, clients []net.IP) (HBARule, bool) {
	for _, r := range rules {
		if r.Type != "host" && r.Type != "hostssl" && r.Type != "hostnossl" {
			continue
		}
		if !hbaList(r.Databases, database, user, true) || !hbaList(r.Users, user, "", false) {
			continue
		}
		if hbaAddress(r.Address, r.Netmask, clients) {
			return r, true
		}
	}
	return HBARule{}, false
}

func hbaList(list []string, name, user string, db bool) bool {
	for _, x := range list {
		switch {
		case x == "all" || x == name:
			return true
		case db && x == "sameuser" && name == user:
			return true
		case db && (x == "samerole" || x == "samegroup"):
			return true
		case !db && (strings.HasPrefix(x, "+") || strings.HasPrefix(x, "@")):
			return true
		}
	}
	return false
}

func hbaAddress(addr, mask string, clients []net.IP) bool {
	switch addr {
	case "", "all", "samehost", "samenet":
		return true
	}
	_, nw, err := net.ParseCIDR(addr)
	if err != nil {
		ip := net.ParseIP(addr)
		if ip == nil {
			return true // a host name: taken to match
		}
		m := net.IPMask(net.ParseIP(mask))
		if v4 := net.ParseIP(mask).To4(); v4 != nil && ip.To4() != nil {
			m = net.IPMask(v4)
		}
		nw = &net.IPNet{IP: ip.Mask(m), Mask: m}
	}
	if len(clients) == 0 {
		return true
	}
	for _, c := range clients {
		if nw.Contains(c) {
			return true
		}
	}
	return false
}
