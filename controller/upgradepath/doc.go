// Package upgradepath holds kongctl's upgrade-path policy (which X→Y jumps
// Kong supports), hybrid control-plane/data-plane compatibility, and the
// known kong.conf settings that break on a newer version. Everything here is
// pure: no I/O, table-tested. Versions are kongver.Version.
package upgradepath
