// Package view renders the controller's results for the operator: the
// plan, the fleet's status and the report of an upgrade or a rollback, as
// text and as JSON. Only the command line (controller/cli, cmd/) uses it:
// the controller returns values and never formats them.
package view
