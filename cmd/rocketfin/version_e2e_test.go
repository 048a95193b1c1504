package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/apiversion"
)

// TestAPIVersions: every answer names the version that served it; a tenant is pinned to the
// version current at its signup; an unknown version is 400 naming the header.
func TestAPIVersions(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("abe@versions.example")
	if v := a.Body.Header.Get("RocketFin-Version"); v != apiversion.Current() {
		t.Fatalf("signup served in %q, want %s", v, apiversion.Current())
	}
	r := s.do("GET", "/v1/tenant", a.Live, nil)
	expect(t, r, http.StatusOK)
	if r.str("api_version") != apiversion.Current() || r.Header.Get("RocketFin-Version") != apiversion.Current() {
		t.Fatalf("tenant pinned to %q, served in %q", r.str("api_version"), r.Header.Get("RocketFin-Version"))
	}
	ok := s.doWith("GET", "/v1/tenant", a.Live, nil, map[string]string{"RocketFin-Version": apiversion.Versions[0]})
	expect(t, ok, http.StatusOK)
	if ok.Header.Get("RocketFin-Version") != apiversion.Versions[0] {
		t.Fatalf("asked %s, served %s", apiversion.Versions[0], ok.Header.Get("RocketFin-Version"))
	}
	for _, bad := range []string{"2019-01-01", "latest", "2026-13-01"} {
		r := s.doWith("GET", "/v1/tenant", a.Live, nil, map[string]string{"RocketFin-Version": bad})
		expectProblem(t, r, http.StatusBadRequest, "invalid_request", "RocketFin-Version")
	}
	expectProblem(t, s.doWith("POST", "/v1/scores", a.Live, liveBody(1), map[string]string{"RocketFin-Version": "1999-01-01"}),
		http.StatusBadRequest, "invalid_request", "RocketFin-Version")
	if c := creditsOf(s, a.Live); c != 5 {
		t.Fatalf("%v credits after a refused call, want 5", c)
	}
}

// TestVersionCommandNamesVersionAndCommit: `rocketfin version` needs no configuration and prints
// the stamped version and commit.
func TestVersionCommandNamesVersionAndCommit(t *testing.T) {
	version, commit = "1.2.3", "abc123"
	defer func() { version, commit = "dev", "" }()
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "rocketfin 1.2.3 (commit abc123, go") {
		t.Fatalf("version printed %q", out.String())
	}
}
