// Package inventory is kongctl's inventory: the model of a Kong fleet (hosts,
// groups, SSH settings, the database, the upgrade, hooks, verification,
// backups and timeouts) and its loader.
//
// Load and LoadBytes parse an inventory written in HCL native syntax (or HCL
// JSON syntax when the file name ends in ".json"), decode it against strict
// schemas and validate it. Every problem is an hcl.Diagnostic with the
// tightest source range and a detail that says how to fix it. The model
// keeps source ranges so that later runtime errors can point back at the
// inventory line that configured a host.
//
// The inventory never holds secrets: passwords are references
// (password_env, password_file) resolved at run time by Password methods.
package inventory
