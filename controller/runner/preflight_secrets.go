package runner

// redactSecrets hands the database passwords (X's, and the dual-cluster
// target server's) and the admin token to the redactor before anything
// is reported (resume included).
func (e *engine) redactSecrets() {
	gets := []func() ([]byte, error){e.spec.DB.Password, e.spec.AdminToken}
	if t := e.spec.TargetServer; t != nil {
		gets = append(gets, t.Password)
	}
	for _, get := range gets {
		if get == nil {
			continue
		}
		if v, err := get(); err == nil {
			e.red.add(v)
		}
	}
}

// checkSecrets: the database password and admin token references resolve
// (the values are only kept to redact them from output).
func (e *engine) checkSecrets() {
	if e.spec.AdminToken != nil {
		if _, err := e.spec.AdminToken(); err != nil {
			e.find(Finding{Severity: SevError, Code: "admin-token", Message: "resolve the " + err.Error(), Fix: "set the environment variable or file named by kong.admin_token_env / admin_token_file"})
		}
	}
	if e.spec.DB.Password == nil {
		return
	}
	pw, err := e.spec.DB.Password()
	if err != nil {
		e.find(Finding{Severity: SevError, Code: "db-password", Message: "resolve the database password reference: " + err.Error(), Fix: "set the environment variable or file named by database.password_env / password_file"})
		return
	}
	e.red.add(pw)
}
