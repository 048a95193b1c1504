package main

import (
	"fmt"
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
		// Live: only live credentials hold members:write and billing:write.
		id, secret := s.oauthClient(acct.Live, string(sc))
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

// TestNoCredentialMakesAStrongerOne: a key holds at most what made it. A developer's sandbox key
// cannot manage members; an admin's live key can neither make an owner nor subscribe; a client
// holding keys:write makes keys no stronger than itself; the signup's sandbox key cannot manage
// people or the subscription either.
func TestNoCredentialMakesAStrongerOne(t *testing.T) {
	s, op := consoleEnv(t, []oidctest.User{
		{ID: "o", Username: "owner", Password: "pw", Email: "own@esc.example", EmailVerified: true},
		{ID: "a", Username: "adm", Password: "pw", Email: "adm@esc.example", EmailVerified: true},
		{ID: "d", Username: "dev", Password: "pw", Email: "dev@esc.example", EmailVerified: true},
	})
	acct := s.signup("own@esc.example")
	for _, m := range []struct{ email, role string }{{"adm@esc.example", "admin"}, {"dev@esc.example", "developer"}} {
		expect(t, s.do("POST", "/v1/members", acct.Live, map[string]string{"email": m.email, "role": m.role}), http.StatusCreated)
	}
	dev, adm := newBrowser(t, s), newBrowser(t, s)
	for _, b := range []struct {
		b    *browser
		user string
	}{{dev, "dev"}, {adm, "adm"}} {
		if status, _ := b.b.signIn(op, b.user, "pw"); status != http.StatusOK {
			t.Fatalf("%s sign-in", b.user)
		}
	}
	admID := adm.do("GET", "/v1/session", nil).str("member", "id")

	devKey := dev.do("POST", "/v1/keys", map[string]string{"name": "dev"})
	expect(t, devKey, http.StatusCreated)
	k := devKey.str("secret")
	expectProblem(t, s.do("POST", "/v1/members", k, map[string]string{"email": "x@esc.example", "role": "owner"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("GET", "/v1/members", k, nil), http.StatusForbidden, "forbidden", "")
	expect(t, s.do("POST", "/v1/scores", k, map[string]any{"company": map[string]string{"id": "999000011"}}), http.StatusOK)

	expect(t, adm.do("PATCH", "/v1/session", map[string]string{"environment": "live"}), http.StatusOK)
	admKey := adm.do("POST", "/v1/keys", map[string]string{"name": "adm"})
	expect(t, admKey, http.StatusCreated)
	a := admKey.str("secret")
	expectProblem(t, s.do("PATCH", "/v1/members/"+admID, a, map[string]string{"role": "owner"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("POST", "/v1/members", a, map[string]string{"email": "y@esc.example", "role": "owner"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("POST", "/v1/billing/subscription", a, nil), http.StatusForbidden, "forbidden", "")
	expect(t, s.do("POST", "/v1/members", a, map[string]string{"email": "z@esc.example", "role": "developer"}), http.StatusCreated)
	if sc := admKey.Body["scopes"].([]any); len(sc) == 0 || strings.Contains(fmt.Sprint(sc), "billing:write") {
		t.Fatalf("the admin's key holds %v", sc)
	}

	id, secret := s.oauthClient(acct.Live, "keys:write")
	tok, err := s.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	made := s.do("POST", "/v1/keys", tok.AccessToken, map[string]string{"name": "from a client"})
	expect(t, made, http.StatusCreated)
	expectProblem(t, s.do("GET", "/v1/usage", made.str("secret"), nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("GET", "/v1/tenant", made.str("secret"), nil), http.StatusForbidden, "forbidden", "")

	expectProblem(t, s.do("POST", "/v1/members", acct.Sandbox, map[string]string{"email": "w@esc.example", "role": "owner"}), http.StatusForbidden, "forbidden", "")
	// The signup's live key is owner-level.
	expect(t, s.do("POST", "/v1/members", acct.Live, map[string]string{"email": "v@esc.example", "role": "owner"}), http.StatusCreated)
}
