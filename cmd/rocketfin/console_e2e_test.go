package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/oidctest"
)

// consoleEnv starts an OpenID Provider with users and a RocketFin that signs people in with it.
// Settings in extra are added to the server's.
func consoleEnv(t *testing.T, users []oidctest.User, extra ...map[string]string) (*testServer, *oidctest.OP) {
	t.Helper()
	addr := oidctest.FreeAddr(t)
	base := "http://" + addr
	op := oidctest.Start(t, []string{base + "/console/callback"}, users)
	env := map[string]string{}
	for _, e := range extra {
		for k, v := range e {
			env[k] = v
		}
	}
	for k, v := range map[string]string{"ROCKETFIN_ADDR": addr, "ROCKETFIN_PUBLIC_URL": base,
		"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": oidctest.WebClient, "OIDC_CLIENT_SECRET": oidctest.ClientSecret} {
		env[k] = v
	}
	return startServer(t, env), op
}

// browser is a person's browser: a cookie jar and the CSRF token of its session.
type browser struct {
	t      *testing.T
	s      *testServer
	client *http.Client
	csrf   string
}

func newBrowser(t *testing.T, s *testServer) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// signIn goes through the whole flow: RocketFin → the provider's form → back → the console.
func (b *browser) signIn(op *oidctest.OP, user, password string) (int, string) {
	b.t.Helper()
	res, err := b.client.Get(b.s.base + "/console/login")
	if err != nil {
		b.t.Fatal(err)
	}
	end, err := op.Login(context.Background(), b.client, res, user, password)
	if err != nil {
		b.t.Fatal(err)
	}
	defer end.Body.Close()
	body, _ := io.ReadAll(end.Body)
	if end.StatusCode == http.StatusOK && end.Request.URL.Path == "/console" {
		s := b.do("GET", "/v1/session", nil)
		expect(b.t, s, http.StatusOK)
		b.csrf = s.str("csrf_token")
	}
	return end.StatusCode, string(body)
}

// do calls the API with the session cookie (and its CSRF token, when it has one).
func (b *browser) do(method, path string, body any) response {
	b.t.Helper()
	h := map[string]string{}
	if b.csrf != "" {
		h["X-CSRF-Token"] = b.csrf
	}
	return send(b.t, b.client, b.s.base, method, path, "", body, h)
}

// TestConsoleSignInWithOIDC: against a real OpenID Provider, the signup's owner signs in and
// becomes the owner, recovers from losing every key, invites a developer who joins by signing in;
// sessions carry roles, CSRF protection, logout and removal; every way a sign-in can be wrong is
// refused.
func TestConsoleSignInWithOIDC(t *testing.T) {
	users := []oidctest.User{
		{ID: "u-owner", Username: "owner", Password: "pw-owner", Email: "Owner@Acme.example", EmailVerified: true},
		{ID: "u-dev", Username: "dev", Password: "pw-dev", Email: "dev@acme.example", EmailVerified: true},
		{ID: "u-unverified", Username: "unverified", Password: "pw-unverified", Email: "unverified@acme.example"},
		{ID: "u-stranger", Username: "stranger", Password: "pw-stranger", Email: "stranger@elsewhere.example", EmailVerified: true},
	}
	s, op := consoleEnv(t, users)
	acct := s.signup("owner@acme.example")

	// Without a session the console sends the person to sign in.
	anon := newBrowser(t, s)
	anon.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if res, err := anon.client.Get(s.base + "/console"); err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login?return_to=%2Fconsole" {
		t.Fatalf("console without a session: %v %v", err, res)
	}
	expectProblem(t, anon.do("GET", "/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "")

	// The owner: the signup email (any case), verified by the provider.
	owner := newBrowser(t, s)
	if status, body := owner.signIn(op, "owner", "pw-owner"); status != http.StatusOK || !strings.Contains(body, "Owner@Acme.example") && !strings.Contains(body, "owner@acme.example") {
		t.Fatalf("owner sign-in: %d %s", status, body)
	}
	sess := owner.do("GET", "/v1/session", nil)
	if sess.str("member", "role") != "owner" || sess.str("tenant_id") != acct.TenantID || sess.str("environment") != "sandbox" || owner.csrf == "" {
		t.Fatalf("owner session: %s", sess.Raw)
	}
	for _, ck := range owner.client.Jar.Cookies(mustURL(t, s.base)) {
		if ck.Name == "rf_session" && (len(ck.Value) != 43) {
			t.Fatalf("session cookie: %+v", ck)
		}
	}

	// Recovery: every live key revoked, the owner signs in and makes a new one.
	liveID := s.keyID(acct.Live)
	expect(t, s.do("DELETE", "/v1/keys/"+liveID+"?force=true", acct.Live, nil), http.StatusOK)
	expectProblem(t, s.do("GET", "/v1/tenant", acct.Live, nil), http.StatusUnauthorized, "unauthenticated", "")
	// State-changing session requests need the CSRF token, and RocketFin's own origin.
	csrf := owner.csrf
	owner.csrf = ""
	expectProblem(t, owner.do("PATCH", "/v1/session", map[string]string{"environment": "live"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, owner.do("POST", "/v1/keys", map[string]string{"name": "x"}), http.StatusForbidden, "forbidden", "")
	owner.csrf = csrf
	r := send(t, owner.client, s.base, "POST", "/v1/keys", "", map[string]string{"name": "x"}, map[string]string{"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
	expectProblem(t, r, http.StatusForbidden, "forbidden", "")
	sw := owner.do("PATCH", "/v1/session", map[string]string{"environment": "live"})
	expect(t, sw, http.StatusOK)
	if sw.str("environment") != "live" {
		t.Fatalf("switch: %s", sw.Raw)
	}
	made := owner.do("POST", "/v1/keys", map[string]string{"name": "recovered"})
	expect(t, made, http.StatusCreated)
	newLive := made.str("secret")
	if !strings.HasPrefix(newLive, "rf_live_") {
		t.Fatalf("recovered key: %s", made.Raw)
	}
	expect(t, s.do("GET", "/v1/tenant", newLive, nil), http.StatusOK)

	// Invite a developer; they join by signing in with that email.
	inv := owner.do("POST", "/v1/members", map[string]string{"email": "dev@acme.example", "role": "developer"})
	expect(t, inv, http.StatusCreated)
	if inv.str("status") != "invited" || inv.str("invite_expires_at") == "" {
		t.Fatalf("invitation: %s", inv.Raw)
	}
	expectProblem(t, owner.do("POST", "/v1/members", map[string]string{"email": "DEV@acme.example", "role": "admin"}), http.StatusConflict, "conflict", "")
	expectProblem(t, owner.do("POST", "/v1/members", map[string]string{"email": "not an email", "role": "admin"}), http.StatusBadRequest, "invalid_request", "email")
	expectProblem(t, owner.do("POST", "/v1/members", map[string]string{"email": "x@acme.example", "role": "root"}), http.StatusBadRequest, "invalid_request", "role")
	dev := newBrowser(t, s)
	if status, body := dev.signIn(op, "dev", "pw-dev"); status != http.StatusOK {
		t.Fatalf("developer sign-in: %d %s", status, body)
	}
	ds := dev.do("GET", "/v1/session", nil)
	if ds.str("member", "role") != "developer" || ds.str("tenant_id") != acct.TenantID {
		t.Fatalf("developer session: %s", ds.Raw)
	}
	expectProblem(t, dev.do("GET", "/v1/members", nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, dev.do("GET", "/v1/audit-events", nil), http.StatusForbidden, "forbidden", "")
	expect(t, dev.do("POST", "/v1/keys", map[string]string{"name": "dev sandbox"}), http.StatusCreated)
	expect(t, dev.do("POST", "/v1/scores", map[string]any{"company": map[string]string{"id": "999000011"}}), http.StatusOK)
	expect(t, dev.do("PATCH", "/v1/session", map[string]string{"environment": "live"}), http.StatusOK)
	expectProblem(t, dev.do("POST", "/v1/keys", map[string]string{"name": "dev live"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, dev.do("GET", "/v1/keys", nil), http.StatusForbidden, "forbidden", "")

	// Owners: the last one can be neither demoted nor removed.
	me := sess.str("member", "id")
	expectProblem(t, owner.do("PATCH", "/v1/members/"+me, map[string]string{"role": "admin"}), http.StatusConflict, "conflict", "")
	expectProblem(t, owner.do("DELETE", "/v1/members/"+me, nil), http.StatusConflict, "conflict", "")

	// The trail names the member as actor.
	trail := owner.do("GET", "/v1/audit-events?actor_id="+me, nil)
	expect(t, trail, http.StatusOK)
	actions := map[string]bool{}
	for _, e := range trail.Body["data"].([]any) {
		actions[dig(e, "action").(string)] = true
		if dig(e, "actor", "type") != "member" {
			t.Fatalf("actor: %v", e)
		}
	}
	for _, a := range []string{"member.joined", "member.invited", "key.created"} {
		if !actions[a] {
			t.Errorf("the trail lacks %s by the owner: %v", a, actions)
		}
	}

	// Removing the developer ends their session within a second.
	expect(t, owner.do("DELETE", "/v1/members/"+ds.str("member", "id"), nil), http.StatusOK)
	s.clock.Advance(1100 * time.Millisecond)
	expectProblem(t, dev.do("GET", "/v1/tenant", nil), http.StatusUnauthorized, "unauthenticated", "")

	// Refused sign-ins: an email the provider did not verify, a person nobody invited.
	expect(t, owner.do("POST", "/v1/members", map[string]string{"email": "unverified@acme.example", "role": "finance"}), http.StatusCreated)
	if status, body := newBrowser(t, s).signIn(op, "unverified", "pw-unverified"); status != http.StatusForbidden || !strings.Contains(body, "not verified") {
		t.Fatalf("unverified email: %d %s", status, body)
	}
	if status, body := newBrowser(t, s).signIn(op, "stranger", "pw-stranger"); status != http.StatusForbidden || !strings.Contains(body, "not a member") {
		t.Fatalf("stranger: %d %s", status, body)
	}

	// Logout ends the session server-side: the cookie, replayed, no longer works.
	cookies := owner.client.Jar.Cookies(mustURL(t, s.base))
	r = owner.do("DELETE", "/v1/session", nil)
	expect(t, r, http.StatusNoContent)
	replay := newBrowser(t, s)
	replay.client.Jar.SetCookies(mustURL(t, s.base), cookies)
	expectProblem(t, replay.do("GET", "/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "")
}

// TestConsoleSignInRefusesForgedAndReplayedCallbacks: a callback whose state is not the one this
// browser started, and a callback replayed after it signed someone in, are refused.
func TestConsoleSignInRefusesForgedAndReplayedCallbacks(t *testing.T) {
	s, op := consoleEnv(t, []oidctest.User{{ID: "u1", Username: "owner", Password: "pw", Email: "cb@acme.example", EmailVerified: true}})
	s.signup("cb@acme.example")

	// Stop at the callback to hold its URL.
	b := newBrowser(t, s)
	var callback string
	b.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/console/callback" && callback == "" {
			callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err := b.client.Get(s.base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Login(context.Background(), b.client, res, "owner", "pw"); err != nil {
		t.Fatal(err)
	}
	if callback == "" {
		t.Fatal("the provider did not send the browser back")
	}
	// A forged state, with this browser's login cookie still set: refused, and the real one
	// still works after that.
	forged := strings.Replace(callback, "state=", "state=x", 1)
	r, err := b.client.Get(forged)
	if err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged state: %v %v", err, r)
	}
	// Another browser (no login cookie) cannot use the callback either.
	other := newBrowser(t, s)
	r, err = other.client.Get(callback)
	if err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback in another browser: %v %v", err, r)
	}
}

// TestConsoleCallbackIsSpentOnce: the callback that signed a person in cannot sign anyone in again,
// even with the login cookie of the browser that made it.
func TestConsoleCallbackIsSpentOnce(t *testing.T) {
	s, op := consoleEnv(t, []oidctest.User{{ID: "u1", Username: "owner", Password: "pw", Email: "once@acme.example", EmailVerified: true}})
	s.signup("once@acme.example")
	b := newBrowser(t, s)
	var callback string
	var loginCookie *http.Cookie
	b.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/console/callback" && callback == "" {
			callback = req.URL.String()
			for _, c := range b.client.Jar.Cookies(req.URL) {
				if c.Name == "rf_login" {
					loginCookie = c
				}
			}
		}
		return nil
	}
	res, err := b.client.Get(s.base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	end, err := op.Login(context.Background(), b.client, res, "owner", "pw")
	if err != nil || end.StatusCode != http.StatusOK || callback == "" || loginCookie == nil {
		t.Fatalf("sign-in: %v %v %q %v", err, end, callback, loginCookie)
	}
	replay := newBrowser(t, s)
	replay.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", callback, nil)
	req.AddCookie(&http.Cookie{Name: "rf_login", Value: loginCookie.Value})
	r, err := replay.client.Do(req)
	if err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %v %v", err, r)
	}
	for _, c := range r.Cookies() {
		if c.Name == "rf_session" && c.Value != "" {
			t.Fatal("a replayed callback made a session")
		}
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConsoleSessionsExpire: a session ends after 30 minutes without use, and after 12 hours
// however much it is used; the sign-out form needs the CSRF token and ends the session.
func TestConsoleSessionsExpire(t *testing.T) {
	s, op := consoleEnv(t, []oidctest.User{{ID: "u1", Username: "owner", Password: "pw", Email: "exp@acme.example", EmailVerified: true}})
	s.signup("exp@acme.example")

	idle := newBrowser(t, s)
	if status, body := idle.signIn(op, "owner", "pw"); status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	s.clock.Advance(29 * time.Minute)
	expect(t, idle.do("GET", "/v1/tenant", nil), http.StatusOK)
	s.clock.Advance(29 * time.Minute) // 58 minutes in all, but used 29 minutes ago
	expect(t, idle.do("GET", "/v1/tenant", nil), http.StatusOK)
	s.clock.Advance(31 * time.Minute)
	expectProblem(t, idle.do("GET", "/v1/tenant", nil), http.StatusUnauthorized, "unauthenticated", "")

	busy := newBrowser(t, s)
	if status, body := busy.signIn(op, "owner", "pw"); status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	for i := 0; i < 11*3; i++ { // every 20 minutes for 11 hours
		s.clock.Advance(20 * time.Minute)
		expect(t, busy.do("GET", "/v1/tenant", nil), http.StatusOK)
	}
	s.clock.Advance(61 * time.Minute)
	expect(t, busy.do("GET", "/v1/tenant", nil), http.StatusUnauthorized)

	// The sign-out form: refused without the token, then it ends the session.
	form := newBrowser(t, s)
	if status, body := form.signIn(op, "owner", "pw"); status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	post := func(token string) int {
		res, err := form.client.PostForm(s.base+"/console/logout", url.Values{"csrf_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("forged"); code != http.StatusForbidden {
		t.Fatalf("sign-out without the token: %d", code)
	}
	expect(t, form.do("GET", "/v1/session", nil), http.StatusOK)
	if code := post(form.csrf); code != http.StatusOK {
		t.Fatalf("sign-out: %d", code)
	}
	expectProblem(t, form.do("GET", "/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "")
}

// TestConsoleBilling: against stripe-mock, an owner subscribes from the console and is led to
// Stripe Checkout; the reconciliation downloads as CSV whichever environment the console shows;
// finance reads billing but may not subscribe.
func TestConsoleBilling(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	s, op := consoleEnv(t, []oidctest.User{
		{ID: "o", Username: "owner", Password: "pw", Email: "own@bill.example", EmailVerified: true},
		{ID: "f", Username: "fin", Password: "pw", Email: "fin@bill.example", EmailVerified: true},
	}, billingEnv(proxy, "1h"))
	acct := s.signup("own@bill.example")
	expect(t, s.do("POST", "/v1/members", acct.Live, map[string]string{"email": "fin@bill.example", "role": "finance"}), http.StatusCreated)
	fin := newBrowser(t, s)
	if status, _ := fin.signIn(op, "fin", "pw"); status != http.StatusOK {
		t.Fatal("finance sign-in")
	}
	form := func(b *browser, path string) (int, string) {
		res, err := b.client.PostForm(s.base+path, url.Values{"csrf_token": {b.csrf}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if status, body := form(fin, "/console/billing/subscribe"); status != http.StatusForbidden || !strings.Contains(body, "lacks the scope billing:write") {
		t.Fatalf("finance subscribing: %d %.300s", status, body)
	}
	owner := newBrowser(t, s)
	if status, _ := owner.signIn(op, "owner", "pw"); status != http.StatusOK {
		t.Fatal("owner sign-in")
	}
	status, body := form(owner, "/console/billing/subscribe")
	if status != http.StatusCreated || !strings.Contains(body, "Continue to Stripe Checkout") {
		t.Fatalf("subscribe: %d %.2000s", status, body)
	}
	if len(proxy.Calls("POST", "/v1/checkout/sessions")) != 1 {
		t.Fatalf("checkout sessions made: %d", len(proxy.Calls("POST", "/v1/checkout/sessions")))
	}
	res, err := fin.client.Get(s.base + "/console/billing")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("billing page: %v %v", err, res)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "A checkout is open") {
		t.Fatalf("billing page after subscribing: %.2000s", page)
	}
	res, err = fin.client.Get(s.base + "/console/billing/reconciliation?period=2026-11")
	if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("reconciliation: %v %v", err, res)
	}
	csvBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(csvBody), "row_type,usage_event_id") {
		t.Fatalf("reconciliation CSV: %s", csvBody)
	}
}
