// Package e2e holds kongctl's end-to-end tests (issue 6): the real kongctl
// binary driven as an operator would, against the rehearsal lab
// (lab/labenv) with the Kong simulator. The tests carry the build tag
// "integration" (root, namespaces, PostgreSQL, sshd) and run in `make test`:
//
//	go test -tags integration -count=1 -v ./lab/e2e
//
// Each test brings its own lab up and tears it down; set KONGCTL_E2E_KEEP=1
// to keep the lab of a failed test for inspection.
package e2e
