// Package testenv says what a test does when something it needs from outside Go (PostgreSQL,
// stripe-mock, helm, HAProxy, a browser, an OpenID Provider) is missing: it is skipped on a
// developer's machine, and fails where the whole suite must run (CI=true, or
// ROCKETFIN_REQUIRE_POSTGRES=1, which scripts/test sets), so that CI never passes by skipping.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// FullSuite reports whether every test must run.
func FullSuite() bool {
	return os.Getenv("CI") == "true" || os.Getenv("ROCKETFIN_REQUIRE_POSTGRES") == "1"
}

// Missing ends the test for want of what why names: a failure in the full suite, a skip elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if FullSuite() {
		t.Fatal(msg + " (required: CI=true or ROCKETFIN_REQUIRE_POSTGRES=1; scripts/test provides it)")
	}
	t.Skip(msg + ": run ./scripts/test")
}

// Tool finds a program: the path in the environment variable env (scripts/test sets it), else
// name on PATH; without either, Missing.
func Tool(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, "%s not found (set %s)", name, env)
	return ""
}
