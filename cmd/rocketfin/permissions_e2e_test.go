package main

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/oidctest"
)

// tableRoutes are the permission table's routes with their path parameters filled with ids that
// name nothing, sorted so that runs are alike.
func tableRoutes() []struct{ method, path, route string } {
	param := regexp.MustCompile(`:[a-z_]+`)
	var out []struct{ method, path, route string }
	for route := range access.Routes {
		method, path, _ := strings.Cut(route, " ")
		out = append(out, struct{ method, path, route string }{method, param.ReplaceAllString(path, "none_0"), route})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].route < out[j].route })
	return out
}

// refusedByScope tells a 403 of the permission table from any other answer (a 403 for another
// reason, such as billing in the sandbox, says so in its detail).
func refusedByScope(r response) bool {
	return r.Status == http.StatusForbidden && (r.str("code") == "forbidden" && strings.Contains(r.str("detail"), "lacks the scope") ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") && strings.Contains(string(r.Raw), "lacks the scope"))
}

// TestEveryRoleOnEveryRoute walks the whole permission table with real sessions: every role, in
// both environments, on every route, is allowed exactly when its role holds the route's scope,
// and otherwise answered 403 forbidden.
func TestEveryRoleOnEveryRoute(t *testing.T) {
	users := []oidctest.User{}
	for _, r := range access.Roles {
		users = append(users, oidctest.User{ID: "u-" + string(r), Username: string(r), Password: "pw-" + string(r), Email: string(r) + "@walk.example", EmailVerified: true})
	}
	s, op := consoleEnv(t, users)
	s.signup("owner@walk.example")
	owner := newBrowser(t, s)
	if status, body := owner.signIn(op, "owner", "pw-owner"); status != http.StatusOK {
		t.Fatalf("owner: %d %s", status, body)
	}
	browsers := map[access.Role]*browser{access.Owner: owner}
	for _, r := range access.Roles[1:] {
		expect(t, owner.do("POST", "/v1/members", map[string]string{"email": string(r) + "@walk.example", "role": string(r)}), http.StatusCreated)
		b := newBrowser(t, s)
		if status, body := b.signIn(op, string(r), "pw-"+string(r)); status != http.StatusOK {
			t.Fatalf("%s: %d %s", r, status, body)
		}
		browsers[r] = b
	}
	calls := 0
	for _, env := range []string{"sandbox", "live"} {
		for _, role := range access.Roles {
			b := browsers[role]
			expect(t, b.do("PATCH", "/v1/session", map[string]string{"environment": env}), http.StatusOK)
			held := access.RoleScopes(role, env)
			for _, rt := range tableRoutes() {
				var body any
				if rt.method == "POST" || rt.method == "PATCH" {
					body = map[string]any{}
				}
				r := b.do(rt.method, rt.path, body)
				calls++
				if r.Status >= 500 {
					t.Errorf("%s in %s, %s: %d %s", role, env, rt.route, r.Status, r.Raw)
				}
				if allowed := held.Has(access.Routes[rt.route]); allowed == refusedByScope(r) {
					t.Errorf("%s in %s, %s (scope %s): allowed=%v, answered %d %s", role, env, rt.route, access.Routes[rt.route], allowed, r.Status, r.Raw)
				}
			}
		}
	}
	t.Logf("%d calls: %d roles × 2 environments × %d routes", calls, len(access.Roles), len(access.Routes))
}

// TestEveryScopeOnEveryRoute: for machines, an OAuth2 client holding one scope reaches exactly the
// routes of that scope and is refused 403 on every other.
func TestEveryScopeOnEveryRoute(t *testing.T) {
	s := startServer(t, nil)
	acct := s.signup("scopes@walk.example")
	for _, sc := range access.All {
		id, secret := s.oauthClient(acct.Sandbox, string(sc))
		tok, err := s.token(id, secret)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range tableRoutes() {
			if !strings.HasPrefix(rt.path, "/v1/") {
				continue // the console's pages are for people
			}
			var body any
			if rt.method == "POST" || rt.method == "PATCH" {
				body = map[string]any{}
			}
			r := s.do(rt.method, rt.path, tok.AccessToken, body)
			if allowed := access.Routes[rt.route] == sc; allowed == refusedByScope(r) {
				t.Errorf("a client with %s on %s: allowed=%v, answered %d %s", sc, rt.route, allowed, r.Status, r.Raw)
			}
		}
	}
}
