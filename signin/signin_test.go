package signin

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/oidctest"
)

// idTokenFor gets a real ID token from the provider for client, with nonce, by signing a user in.
func idTokenFor(t *testing.T, op *oidctest.OP, client, redirect, nonce string) string {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: client, ClientSecret: oidctest.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email"}}
	verifier := oauth2.GenerateVerifier()
	jar, _ := cookiejar.New(nil)
	var code string
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			code = req.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := browser.Get(cfg.AuthCodeURL("state", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Login(ctx, browser, res, "person", "pw"); err != nil {
		t.Fatal(err)
	}
	if code == "" {
		t.Fatal("no code")
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

// TestIDTokensOfAnotherAudienceOrNonceAreRefused: real ID tokens of a real provider, verified as
// the callback does: one made for another client, or for another sign-in's nonce, is refused.
func TestIDTokensOfAnotherAudienceOrNonceAreRefused(t *testing.T) {
	redirect := "http://127.0.0.1:9/callback"
	op := oidctest.Start(t, []string{redirect}, []oidctest.User{{ID: "p", Username: "person", Password: "pw", Email: "p@example.com", EmailVerified: true}})
	forOther := idTokenFor(t, op, oidctest.OtherClient, redirect, "nonce-1")
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	svc := func(client string) *Service {
		return New(Options{Clock: clock.System{}, Config: Config{Issuer: op.Issuer, ClientID: client}})
	}
	if _, err := svc(oidctest.WebClient).verifyIDToken(ctx, provider, forOther, "nonce-1"); err == nil {
		t.Fatal("an ID token made for another client was accepted")
	}
	if _, err := svc(oidctest.OtherClient).verifyIDToken(ctx, provider, forOther, "nonce-2"); err == nil {
		t.Fatal("an ID token with another sign-in's nonce was accepted")
	}
	idt, err := svc(oidctest.OtherClient).verifyIDToken(ctx, provider, forOther, "nonce-1")
	if err != nil || idt.Subject != "p" {
		t.Fatalf("the right client and nonce: %v", err)
	}
	// A token altered in transit does not verify.
	tampered := forOther[:len(forOther)-4] + "AAAA"
	if _, err := svc(oidctest.OtherClient).verifyIDToken(ctx, provider, tampered, "nonce-1"); err == nil {
		t.Fatal("a tampered ID token was accepted")
	}
	// Expired: the verifier's clock a day later.
	late := New(Options{Clock: clock.NewFake(time.Now().Add(24 * time.Hour)), Config: Config{Issuer: op.Issuer, ClientID: oidctest.OtherClient}})
	if _, err := late.verifyIDToken(ctx, provider, forOther, "nonce-1"); err == nil {
		t.Fatal("an expired ID token was accepted")
	}
}

// TestReturnToStaysOnTheConsole: a sign-in lands only on a console path.
func TestReturnToStaysOnTheConsole(t *testing.T) {
	for in, want := range map[string]string{
		"": HomePath, "/console/keys": "/console/keys", "https://evil.example/": HomePath, "//evil.example": HomePath,
		"/consolex": HomePath, "/console/\\evil": HomePath, "/v1/keys": HomePath, "/console/../\\evil.com": HomePath,
	} {
		if got := SafeReturn(in); got != want {
			t.Errorf("SafeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}
