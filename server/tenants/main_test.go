package tenants_test

import (
	"os"
	"testing"

	"agentplane/server"
)

// TestMain installs the error envelope before any test runs: this binary's
// humatest tests register operations on a bare huma API while servertest
// builds full servers, and both touch huma's global error constructors.
func TestMain(m *testing.M) {
	server.InstallErrorHook()
	os.Exit(m.Run())
}
