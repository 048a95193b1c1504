package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rocketfin/rocketfin/internal/dbtest"
)

// oauthClient creates an OAuth2 client with key and returns its id and secret.
func (s *testServer) oauthClient(key string, scopes ...string) (string, string) {
	s.t.Helper()
	r := s.do("POST", "/v1/oauth-clients", key, map[string]any{"name": "CRM connector", "scopes": scopes})
	expect(s.t, r, http.StatusCreated)
	id, secret := r.str("id"), r.str("client_secret")
	if !strings.HasPrefix(id, "cli_") || !strings.HasPrefix(secret, "rfcs_") {
		s.t.Fatalf("client answer: %s", r.Raw)
	}
	return id, secret
}

func (s *testServer) tokenConfig(id, secret string, scopes ...string) clientcredentials.Config {
	return clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.base + "/oauth/token", Scopes: scopes}
}

// token gets an access token with the real client library.
func (s *testServer) token(id, secret string, scopes ...string) (*oauth2.Token, error) {
	cfg := s.tokenConfig(id, secret, scopes...)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	return cfg.Token(ctx)
}

func retrieveError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
}

// TestOAuth2ClientCredentials: a client made with an API key gets a token from /oauth/token with
// golang.org/x/oauth2/clientcredentials, scores a sandbox company with it, and is held to its
// scopes; every way of getting or forging a token wrongly is refused.
func TestOAuth2ClientCredentials(t *testing.T) {
	s := startServer(t, nil)
	acct := s.signup("oauth@example.com")
	id, secret := s.oauthClient(acct.Sandbox, "scores:write", "scores:read")

	// The real client library: token, then a sandbox score and a read with it.
	cfg := s.tokenConfig(id, secret, "scores:write", "scores:read")
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.Extra("scope") != "scores:read scores:write" {
		t.Fatalf("token: %+v scope %v", tok, tok.Extra("scope"))
	}
	hc := cfg.Client(ctx)
	res, err := hc.Post(s.base+"/v1/scores", "application/json", strings.NewReader(`{"company":{"id":"999000011"}}`))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("score with the client library: %v %v", err, res)
	}
	res.Body.Close()
	sc := s.do("POST", "/v1/scores", tok.AccessToken, map[string]any{"company": map[string]string{"id": "999000011"}})
	expect(t, sc, http.StatusOK)
	dec := s.do("GET", "/v1/scores/"+sc.str("id"), tok.AccessToken, nil)
	expect(t, dec, http.StatusOK)
	if dec.str("key_id") != id {
		t.Fatalf("the decision names %q, want the client %s", dec.str("key_id"), id)
	}

	// Scopes: a route the token's scopes do not cover is 403, whatever the environment.
	expectProblem(t, s.do("GET", "/v1/keys", tok.AccessToken, nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("GET", "/v1/usage", tok.AccessToken, nil), http.StatusForbidden, "forbidden", "")
	narrow, err := s.token(id, secret, "scores:read")
	if err != nil {
		t.Fatal(err)
	}
	expectProblem(t, s.do("POST", "/v1/scores", narrow.AccessToken, map[string]any{"company": map[string]string{"id": "999000011"}}), http.StatusForbidden, "forbidden", "")
	expect(t, s.do("GET", "/v1/scores", narrow.AccessToken, nil), http.StatusOK)
	// A client may not mint what its creator does not hold: a client with keys:write makes clients
	// within its own scopes only.
	admin, adminSecret := s.oauthClient(acct.Sandbox, "keys:write", "keys:read")
	adminTok, err := s.token(admin, adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	expectProblem(t, s.do("POST", "/v1/oauth-clients", adminTok.AccessToken, map[string]any{"name": "x", "scopes": []string{"scores:write"}}), http.StatusForbidden, "forbidden", "")
	expect(t, s.do("POST", "/v1/oauth-clients", adminTok.AccessToken, map[string]any{"name": "x", "scopes": []string{"keys:read"}}), http.StatusCreated)

	// Refusals at the token endpoint, as RFC 6749 §5.2 writes them.
	_, err = s.token(id, secret+"x")
	retrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	_, err = s.token("cli_00000000000000000000000000", secret)
	retrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	_, err = s.token(id, secret, "keys:write")
	retrieveError(t, err, http.StatusBadRequest, "invalid_scope")
	_, err = s.token(id, secret, "no:such")
	retrieveError(t, err, http.StatusBadRequest, "invalid_scope")
	form := func(v url.Values, header map[string]string) response {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, x := range header {
			h[k] = x
		}
		return s.doWith("POST", "/oauth/token", "", v.Encode(), h)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	r := form(url.Values{"grant_type": {"password"}}, map[string]string{"Authorization": basic})
	if r.Status != http.StatusBadRequest || r.str("error") != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %s", r.Status, r.Raw)
	}
	r = form(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, map[string]string{"Authorization": basic})
	if r.Status != http.StatusBadRequest || r.str("error") != "invalid_request" {
		t.Fatalf("two client authentications: %d %s", r.Status, r.Raw)
	}
	r = form(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"rfcs_wrong"}}, nil)
	if r.Status != http.StatusUnauthorized || r.str("error") != "invalid_client" || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong secret in the form: %d %s %v", r.Status, r.Raw, r.Header)
	}
	r = form(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil)
	if r.Status != http.StatusOK || r.str("token_type") != "Bearer" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("form authentication: %d %s", r.Status, r.Raw)
	}
	r = s.doWith("POST", "/oauth/token", "", `{"grant_type":"client_credentials"}`, map[string]string{"Authorization": basic})
	if r.Status != http.StatusBadRequest || r.str("error") != "invalid_request" {
		t.Fatalf("a JSON body: %d %s", r.Status, r.Raw)
	}

	// Metadata and keys are published.
	meta := s.do("GET", "/.well-known/oauth-authorization-server", "", nil)
	expect(t, meta, http.StatusOK)
	if meta.str("issuer") != s.base || meta.str("token_endpoint") != s.base+"/oauth/token" || meta.str("jwks_uri") != s.base+"/.well-known/jwks.json" {
		t.Fatalf("metadata: %s", meta.Raw)
	}
	jwks := s.do("GET", "/.well-known/jwks.json", "", nil)
	expect(t, jwks, http.StatusOK)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks.Raw, &set); err != nil || len(set.Keys) != 1 || !set.Keys[0].IsPublic() || set.Keys[0].Algorithm != "ES256" {
		t.Fatalf("jwks: %v %s", err, jwks.Raw)
	}
	parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := parsed.Claims(set.Keys[0].Key, &claims); err != nil {
		t.Fatalf("the token does not verify with the published key: %v", err)
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "tenant_id", "environment", "scope", "client_id"} {
		if claims[c] == nil {
			t.Errorf("claim %s missing: %v", c, claims)
		}
	}
	if claims["tenant_id"] != acct.TenantID || claims["environment"] != "sandbox" || claims["sub"] != id {
		t.Fatalf("claims: %v", claims)
	}

	// Forged tokens: an unknown key, alg none, HS256 keyed with the public key, a changed payload.
	forge := func(alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(sig).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unsigned := func(header string) string {
		body, _ := json.Marshal(claims)
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(body) + "."
	}
	pubJSON, _ := json.Marshal(set.Keys[0])
	hsInput := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt","kid":"`+set.Keys[0].KeyID+`"}`)) + "." + strings.Split(tok.AccessToken, ".")[1]
	mac := hmac.New(sha256.New, pubJSON)
	mac.Write([]byte(hsInput))
	parts := strings.Split(tok.AccessToken, ".")
	tampered := map[string]any{}
	for k, v := range claims {
		tampered[k] = v
	}
	tampered["scope"] = "keys:write scores:write scores:read"
	tamperedBody, _ := json.Marshal(tampered)
	for name, forged := range map[string]string{
		"unknown key":        forge(jose.ES256, other, set.Keys[0].KeyID, claims),
		"unknown kid":        forge(jose.ES256, other, "sig_unknown", claims),
		"alg none":           unsigned(`{"alg":"none","typ":"at+jwt","kid":"` + set.Keys[0].KeyID + `"}`),
		"HS256 public key":   hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		"changed payload":    parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedBody) + "." + parts[2],
		"truncated":          parts[0] + "." + parts[1] + ".",
		"an ID token's type": forge(jose.ES256, other, "x", map[string]any{"typ": "JWT"}),
	} {
		r := s.do("GET", "/v1/scores", forged, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}

	// Expiry: 15 minutes by default.
	s.clock.Advance(16 * time.Minute)
	expectProblem(t, s.do("GET", "/v1/scores", tok.AccessToken, nil), http.StatusUnauthorized, "unauthenticated", "")
	fresh, err := s.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, s.do("GET", "/v1/scores", fresh.AccessToken, nil), http.StatusOK)

	// A deleted client: its tokens stop at once here, and its secret gets no new one.
	del := s.do("DELETE", "/v1/oauth-clients/"+id, acct.Sandbox, nil)
	expect(t, del, http.StatusOK)
	if del.Body["deleted"] != true {
		t.Fatalf("delete answer: %s", del.Raw)
	}
	expectProblem(t, s.do("GET", "/v1/scores", fresh.AccessToken, nil), http.StatusUnauthorized, "unauthenticated", "")
	_, err = s.token(id, secret)
	retrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	expectProblem(t, s.do("GET", "/v1/oauth-clients/"+id, acct.Sandbox, nil), http.StatusNotFound, "not_found", "")

	// The trail names the client's creation and deletion, and the client as actor of what it made.
	events := s.do("GET", "/v1/audit-events?target_id="+id, acct.Sandbox, nil)
	expect(t, events, http.StatusOK)
	if n := len(events.Body["data"].([]any)); n != 2 {
		t.Fatalf("audit events of the client: %s", events.Raw)
	}
	byClient := s.do("GET", "/v1/audit-events?actor_id="+admin, acct.Sandbox, nil)
	if data := byClient.Body["data"].([]any); len(data) != 1 || dig(data[0], "actor", "type") != "oauth_client" {
		t.Fatalf("audit events by the client: %s", byClient.Raw)
	}
}

// TestOAuth2ClientsAcrossReplicas: two servers on one database and one secret key. A token made by
// one is honoured by the other; a client deleted on one is refused by the other within one second;
// a rotated secret works at once everywhere, the old one until its grace ends.
func TestOAuth2ClientsAcrossReplicas(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.PostgresURL(t), "ROCKETFIN_PUBLIC_URL": "https://api.rocketfin.example",
		"ROCKETFIN_SECRET_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32))}
	copyEnv := func() map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		return out
	}
	a := startServer(t, copyEnv())
	b := startServer(t, copyEnv())
	acct := a.signup("replicas@example.com")
	id, secret := a.oauthClient(acct.Live, "scores:read", "usage:read")
	tok, err := a.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, b.do("GET", "/v1/usage", tok.AccessToken, nil), http.StatusOK)
	if got := b.do("GET", "/v1/tenant", tok.AccessToken, nil); got.Status != http.StatusForbidden {
		t.Fatalf("tenant:read not granted: %d", got.Status)
	}
	// The other replica publishes the same key.
	ja, jb := a.do("GET", "/.well-known/jwks.json", "", nil), b.do("GET", "/.well-known/jwks.json", "", nil)
	if string(ja.Raw) != string(jb.Raw) {
		t.Fatalf("replicas publish different keys:\n%s\n%s", ja.Raw, jb.Raw)
	}

	// Rotation with a grace period: both secrets work on both replicas, then only the new one.
	rot := a.do("POST", "/v1/oauth-clients/"+id+"/rotate-secret", acct.Live, map[string]int{"grace_period_seconds": 60})
	expect(t, rot, http.StatusOK)
	newSecret := rot.str("client_secret")
	if newSecret == "" || newSecret == secret || rot.str("previous_secret_expires_at") == "" {
		t.Fatalf("rotate answer: %s", rot.Raw)
	}
	for _, s := range []*testServer{a, b} {
		for _, sec := range []string{secret, newSecret} {
			if _, err := s.token(id, sec); err != nil {
				t.Fatalf("within the grace: %v", err)
			}
		}
	}
	// One rotation at a time: a second one within the grace would cut it short.
	expectProblem(t, a.do("POST", "/v1/oauth-clients/"+id+"/rotate-secret", acct.Live, nil), http.StatusConflict, "conflict", "")
	a.clock.Advance(61 * time.Second)
	_, err = a.token(id, secret)
	retrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	if _, err := a.token(id, newSecret); err != nil {
		t.Fatal(err)
	}

	// Deletion on a: b refuses the token once its one-second cache has turned.
	tok, err = b.token(id, newSecret)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, b.do("GET", "/v1/usage", tok.AccessToken, nil), http.StatusOK)
	expect(t, a.do("DELETE", "/v1/oauth-clients/"+id, acct.Live, nil), http.StatusOK)
	b.clock.Advance(1001 * time.Millisecond)
	expectProblem(t, b.do("GET", "/v1/usage", tok.AccessToken, nil), http.StatusUnauthorized, "unauthenticated", "")
}

// TestOAuth2ClientInputAndThrottle: bad client definitions are named field by field, another
// tenant's client is 404, and failed client authentications from one address are throttled.
func TestOAuth2ClientInputAndThrottle(t *testing.T) {
	s := startServer(t, nil)
	acct := s.signup("oauth-input@example.com")
	other := s.signup("oauth-other@example.com")
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"scopes": []string{"scores:read"}}, "name"},
		{map[string]any{"name": "x"}, "scopes"},
		{map[string]any{"name": "x", "scopes": []string{}}, "scopes"},
		{map[string]any{"name": "x", "scopes": []string{"scores:admin"}}, "scopes"},
		{map[string]any{"name": strings.Repeat("n", 101), "scopes": []string{"scores:read"}}, "name"},
		{map[string]any{"name": "x", "scopes": []string{"scores:read"}, "metadata": map[string]int{"a": 1}}, "metadata.a"},
	} {
		expectProblem(t, s.do("POST", "/v1/oauth-clients", acct.Sandbox, c.body), http.StatusBadRequest, "invalid_request", c.field)
	}
	id, _ := s.oauthClient(acct.Sandbox, "scores:read")
	expectProblem(t, s.do("GET", "/v1/oauth-clients/"+id, other.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/oauth-clients/"+id, acct.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("DELETE", "/v1/oauth-clients/"+id, other.Sandbox, nil), http.StatusNotFound, "not_found", "")
	list := s.do("GET", "/v1/oauth-clients", acct.Sandbox, nil)
	expect(t, list, http.StatusOK)
	if data := list.Body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["client_secret"] != nil {
		t.Fatalf("list: %s", list.Raw)
	}

	var last error
	for i := 0; i < 150; i++ {
		_, last = s.token(id, "rfcs_wrong")
		var re *oauth2.RetrieveError
		if errors.As(last, &re) && re.Response.StatusCode == http.StatusTooManyRequests {
			if re.Response.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			return
		}
	}
	t.Fatalf("150 wrong secrets were never throttled; last: %v", last)
}

// TestOAuth2OnTheEmbeddedDatabase: the embedded default generates its secret key in the data
// folder on first run (with a log line) and keeps it: after a restart the signing key it sealed
// still signs, and tokens made before still work; an operator rotation retires the key without
// breaking tokens in flight.
func TestOAuth2OnTheEmbeddedDatabase(t *testing.T) {
	dir := t.TempDir()
	env := func() map[string]string {
		return map[string]string{"DATABASE_URL": "", "ROCKETFIN_DATA_DIR": dir, "ROCKETFIN_PUBLIC_URL": "https://rocketfin.test"}
	}
	s := startServer(t, env())
	if !strings.Contains(s.logs.String(), "generated the secret key") {
		t.Fatalf("no log line for the generated key:\n%s", s.logs.String())
	}
	info, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v %v", err, info)
	}
	acct := s.signup("embedded@oauth.example")
	id, secret := s.oauthClient(acct.Sandbox, "scores:write", "scores:read")
	before, err := s.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, s.do("POST", "/v1/scores", before.AccessToken, map[string]any{"company": map[string]string{"id": "999000011"}}), http.StatusOK)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	again := startServer(t, env())
	if strings.Contains(again.logs.String(), "generated the secret key") {
		t.Fatal("a second start generated another key")
	}
	expect(t, again.do("GET", "/v1/scores", before.AccessToken, nil), http.StatusOK)
	after, err := again.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if kid(t, after.AccessToken) != kid(t, before.AccessToken) {
		t.Fatal("the restart made a new signing key instead of opening its own")
	}
	rot := again.do("POST", "/admin/v1/signing-keys/rotate", operatorToken, nil)
	expect(t, rot, http.StatusOK)
	next, err := again.token(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if kid(t, next.AccessToken) != rot.str("kid") || rot.str("kid") == kid(t, before.AccessToken) {
		t.Fatalf("after rotation: %s signs, rotation said %s", kid(t, next.AccessToken), rot.str("kid"))
	}
	for _, tok := range []string{before.AccessToken, next.AccessToken} {
		expect(t, again.do("GET", "/v1/scores", tok, nil), http.StatusOK)
	}
	if keys := again.do("GET", "/.well-known/jwks.json", "", nil).Body["keys"].([]any); len(keys) != 2 {
		t.Fatalf("published %d keys, want the retired and the new", len(keys))
	}
}

// kid is the key id in a token's header.
func kid(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}
