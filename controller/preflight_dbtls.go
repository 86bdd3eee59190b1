package controller

import "fmt"

// checkDatabaseTLS warns (it does not block) when kongctl's own database
// connection, from the tools host (backup, restore check, fleet lock), is
// not verify-full: what an attacker on the path could do depends on the
// mode, and the fix is the same.
func (e *engine) checkDatabaseTLS() {
	mode := orDefault(e.spec.DB.TLSMode, "prefer")
	var risk string
	switch mode {
	case "verify-full":
		return
	case "disable":
		risk = "the connection is not encrypted: anyone on the network path reads the password and the backup (certificate keys, credentials, plugin secrets) and can alter what is restored"
	case "allow", "prefer":
		risk = "TLS is not required: an attacker on the network path can downgrade the connection to plaintext or answer as the database (man in the middle), reading the password and the backup (certificate keys, credentials, plugin secrets) and altering what is restored"
	case "require":
		risk = "the connection is encrypted but the server is not verified: an attacker on the network path can answer as the database with any certificate (man in the middle), reading the password and the backup (certificate keys, credentials, plugin secrets) and altering what is restored"
	case "verify-ca":
		risk = "the server's certificate is checked against the CA but not its host name: any server holding a certificate from that CA can answer as the database (man in the middle)"
	default:
		risk = "it is not a mode kongctl knows to verify the server"
	}
	if e.spec.DB.CAFile != "" && mode != "verify-ca" {
		risk += " (database.ca_file is set, but this mode does not check the server against it)"
	}
	e.find(Finding{Severity: SevWarning, Code: "db-tls", Host: e.spec.ToolsHost,
		Message: fmt.Sprintf("database.tls_mode = %q is below verify-full: %s", mode, risk),
		Fix: fmt.Sprintf("give PostgreSQL a certificate for %s, name the CA that signed it in database { ca_file = \"FILE\" } on the bastion (kongctl sends it to %s; without it libpq reads ~/.postgresql/root.crt of the user the agent runs as), and set database { tls_mode = \"verify-full\" }",
			e.spec.DB.Host, e.spec.ToolsHost)})
}
