package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rocketfin/rocketfin/internal/oidctest"
)

// TestConsoleInTheBrowser drives the console in headless Chromium as its users would: sign up in
// the form, sign in through the OpenID Provider's own login page, create and revoke a key, switch
// to live and back; finance signs in and is not offered keys, and is refused them. Every page is
// checked for browser errors and with axe-core.
func TestConsoleInTheBrowser(t *testing.T) {
	users := []oidctest.User{
		{ID: "u-owner", Username: "ana", Password: "pw-ana", Email: "ana@browser.example", EmailVerified: true},
		{ID: "u-fin", Username: "fin", Password: "pw-fin", Email: "fin@browser.example", EmailVerified: true},
		{ID: "u-admin", Username: "adm", Password: "pw-adm", Email: "adm@browser.example", EmailVerified: true},
		{ID: "u-dev", Username: "dev", Password: "pw-dev", Email: "dev@browser.example", EmailVerified: true},
	}
	s, _ := consoleEnv(t, users)
	b := newChrome(t, s.base)

	// The documentation site: the guides and the generated reference.
	for _, pg := range []string{"docs", "docs/quickstart", "docs/api"} {
		b.do("open "+pg, chromedp.Navigate(s.base+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1")))
		b.check(strings.ReplaceAll(pg, "/", "-"))
	}

	// Sign up in the form: both keys shown once, with the quickstart.
	b.do("open signup", chromedp.Navigate(s.base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#company_name")))
	b.check("signup")
	b.do("sign up",
		chromedp.SendKeys(chromedp.CSS("#company_name"), "Browser SARL"),
		chromedp.SendKeys(chromedp.CSS("#email"), "ana@browser.example"),
		chromedp.SendKeys(chromedp.CSS("#country"), "FR"),
		chromedp.Submit(chromedp.CSS("#country")),
		chromedp.WaitVisible(chromedp.CSS("#sandbox-key")),
	)
	sandboxKey, liveKey := b.value("#sandbox-key"), b.value("#live-key")
	if !strings.HasPrefix(sandboxKey, "rf_test_") || !strings.HasPrefix(liveKey, "rf_live_") {
		t.Fatalf("keys shown: %q %q", sandboxKey, liveKey)
	}
	if !strings.Contains(b.text("main"), "shown once") {
		t.Fatal("the signup page does not warn that the keys are shown once")
	}
	b.check("signup-done")
	expect(t, s.do("GET", "/v1/tenant", sandboxKey, nil), http.StatusOK)

	// Sign in through the provider's login page: the home shows the trial.
	b.signIn(s.base, "ana", "pw-ana")
	home := b.text("main")
	if !strings.Contains(home, "Browser SARL") || !strings.Contains(home, "5 of 5 live analyses left") || !strings.Contains(home, sandboxKey[:12]) {
		t.Fatalf("home: %s", home)
	}
	if !strings.Contains(b.text("body"), "Sandbox: fictitious companies") {
		t.Fatal("the sandbox is not marked")
	}
	b.check("home")

	// Create a sandbox key, see its secret once, then revoke it with the confirmation.
	b.do("open keys", chromedp.Navigate(s.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("#key-name")))
	b.check("keys")
	b.do("create a key",
		chromedp.SendKeys(chromedp.CSS("#key-name"), "browser key"),
		chromedp.Submit(chromedp.CSS("#key-name")),
		chromedp.WaitVisible(chromedp.CSS("#new-key")),
	)
	made := b.value("#new-key")
	if !strings.HasPrefix(made, "rf_test_") {
		t.Fatalf("new key: %q", made)
	}
	expect(t, s.do("GET", "/v1/tenant", made, nil), http.StatusOK)
	b.check("keys-created")
	b.do("revoke it",
		chromedp.Navigate(s.base+"/console/keys"),
		chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll("summary")].find(e => e.closest("tr").textContent.includes("browser key"))`)),
		chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll("input[name=confirm]")].find(e => e.closest("tr").textContent.includes("browser key"))`)),
		chromedp.Submit(chromedp.JSPath(`[...document.querySelectorAll("input[name=confirm]")].find(e => e.closest("tr").textContent.includes("browser key"))`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	expectProblem(t, s.do("GET", "/v1/tenant", made, nil), http.StatusUnauthorized, "unauthenticated", "")
	b.check("keys-revoked")

	// Score a catalog company in the playground, then find the decision record.
	b.do("open the playground", chromedp.Navigate(s.base+"/console/playground"), chromedp.WaitVisible(chromedp.CSS("#company")))
	b.check("playground")
	first := get(b, "first company", chromedp.Evaluate[string](`document.querySelector("#company option:checked").textContent`))
	b.do("score", chromedp.Submit(chromedp.CSS("#body")), chromedp.WaitVisible(chromedp.CSS("#result-recommendation")))
	rec := b.text("#result-recommendation")
	if !strings.Contains(first, "expected "+rec) {
		t.Fatalf("the playground answered %s for %s", rec, first)
	}
	if !strings.Contains(b.text("main"), "curl -s -X POST "+s.base+"/v1/scores") {
		t.Fatal("the playground does not show the curl that reproduces the call")
	}
	b.check("playground-result")
	b.do("open the decision", chromedp.Click(chromedp.CSS(`main a[href^="/console/decisions/sc_"]`)), chromedp.WaitVisible(chromedp.CSS("#audit-h")))
	if main := b.text("main"); !strings.Contains(main, "Input SHA-256") || !strings.Contains(main, "req_") {
		t.Fatalf("decision page: %s", main)
	}
	b.check("decision")
	b.do("filter decisions", chromedp.Navigate(s.base+"/console/decisions?recommendation="+rec), chromedp.WaitVisible(chromedp.CSS("main table")))
	if n := get(b, "rows", chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr a").length`)); n != 1 {
		t.Fatalf("%d decisions listed for %s, want 1", n, rec)
	}
	b.check("decisions")
	other := "decline"
	if rec == "decline" {
		other = "accept"
	}
	b.do("filter decisions out", chromedp.Navigate(s.base+"/console/decisions?recommendation="+other), chromedp.WaitVisible(chromedp.CSS("main table")))
	if n := get(b, "rows", chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr a").length`)); n != 0 {
		t.Fatalf("%d decisions listed for %s, want 0", n, other)
	}

	// Record a consent and withdraw it.
	b.do("record a consent",
		chromedp.Navigate(s.base+"/console/consents"),
		chromedp.SendKeys(chromedp.CSS("#company_id"), "FR-BROWSER-1"),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value=bank_data]`)),
		chromedp.SendKeys(chromedp.CSS("#evidence"), "signed form 42"),
		chromedp.Submit(chromedp.CSS("#evidence")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	if !strings.Contains(b.text("main table"), "FR-BROWSER-1") {
		t.Fatalf("consents: %s", b.text("main"))
	}
	b.check("consents")
	b.do("withdraw it",
		chromedp.Click(chromedp.CSS("main table summary")),
		chromedp.Click(chromedp.CSS(`main table input[name=confirm]`)),
		chromedp.Submit(chromedp.CSS(`main table input[name=confirm]`)),
		chromedp.WaitVisible(chromedp.CSS("main table .badge.withdrawn")),
	)
	if !strings.Contains(b.text("main table"), "withdrawn") {
		t.Fatalf("withdrawn consent: %s", b.text("main table"))
	}

	// The team: invite finance; the audit log shows the revocation.
	b.do("invite finance",
		chromedp.Navigate(s.base+"/console/team"),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "fin@browser.example"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "finance"),
		chromedp.Submit(chromedp.CSS("#invite-email")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	if team := b.text("main table"); !strings.Contains(team, "fin@browser.example") || !strings.Contains(team, "invited") {
		t.Fatalf("team: %s", team)
	}
	b.check("team")
	b.do("audit", chromedp.Navigate(s.base+"/console/audit?action=key.revoked"), chromedp.WaitVisible(chromedp.CSS("main table")))
	if n := get(b, "events", chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr td code").length`)); n == 0 || !strings.Contains(b.text("main table"), "key.revoked") {
		t.Fatalf("audit: %s", b.text("main table"))
	}
	b.check("audit")

	// Switch to live: the banner goes, the keys are the live ones; and back.
	b.do("back to keys", chromedp.Navigate(s.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("#key-name")))
	b.do("switch to live", chromedp.Click(chromedp.CSS(`.envswitch button[value=live]`)), chromedp.WaitVisible(chromedp.CSS(`.envswitch button[value=live][aria-pressed=true]`)))
	if strings.Contains(b.text("body"), "Sandbox: fictitious companies") || !strings.Contains(b.text("main"), liveKey[:12]) {
		t.Fatalf("live keys page: %s", b.text("main"))
	}
	b.check("keys-live")
	b.do("live playground", chromedp.Navigate(s.base+"/console/playground"), chromedp.WaitVisible(chromedp.CSS("#body")))
	if !strings.Contains(b.text("main"), "spends a trial credit") {
		t.Fatal("the live playground does not warn that a credit will be spent")
	}
	b.check("playground-live")
	b.do("keys again", chromedp.Navigate(s.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("#key-name")))
	b.do("switch back", chromedp.Click(chromedp.CSS(`.envswitch button[value=sandbox]`)), chromedp.WaitVisible(chromedp.CSS(".sandbox-banner")))
	if !strings.Contains(b.text("main"), sandboxKey[:12]) {
		t.Fatalf("sandbox keys page: %s", b.text("main"))
	}

	// Finance: no keys in the menu, and the page refused.
	f := newChrome(t, s.base)
	// Finance reads on a phone: every page must fit a narrow screen.
	f.asPhone(390)
	f.signIn(s.base, "fin", "pw-fin")
	if nav := f.text("nav.side"); strings.Contains(nav, "API keys") || !strings.Contains(nav, "Home") {
		t.Fatalf("finance's menu: %s", nav)
	}
	f.check("home-finance")
	f.do("open usage as finance", chromedp.Navigate(s.base+"/console/usage"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	if main := f.text("main"); !strings.Contains(main, "Sandbox analyses this month") || !strings.Contains(main, "Download this month") {
		t.Fatalf("usage: %s", main)
	}
	if n := get(f, "sandbox bars", chromedp.Evaluate[int](`[...document.querySelectorAll("svg.chart rect.sandbox")].filter(r => +r.getAttribute("height") > 0).length`)); n != 1 {
		t.Fatalf("%d days with sandbox analyses drawn, want 1 (the playground's)", n)
	}
	f.check("usage")
	f.do("open billing as finance", chromedp.Navigate(s.base+"/console/billing"), chromedp.WaitVisible(chromedp.CSS("#inv-h")))
	if main := f.text("main"); !strings.Contains(main, "No invoices yet") || strings.Contains(main, "Subscribe\n") {
		t.Fatalf("billing as finance: %s", main)
	}
	if n := get(f, "subscribe buttons", chromedp.Evaluate[int](`document.querySelectorAll("form[action='/console/billing/subscribe']").length`)); n != 0 {
		t.Fatal("finance is offered to subscribe")
	}
	f.check("billing-finance")
	f.do("open keys as finance", chromedp.Navigate(s.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if !strings.Contains(f.text("main"), "lacks the scope keys:read") {
		t.Fatalf("finance on keys: %s", f.text("main"))
	}
	f.expected("status of 403")
	f.check("keys-refused-finance")

	// Admins and developers: every page their menu offers opens without a browser error, and
	// what their role lacks is neither offered nor served.
	for _, who := range []struct {
		user, role string
		offered    []string
		withheld   []string
	}{
		{"adm", "admin", []string{"/console/keys", "/console/playground", "/console/decisions", "/console/consents", "/console/monitoring", "/console/usage", "/console/billing", "/console/team", "/console/audit"}, nil},
		{"dev", "developer", []string{"/console/keys", "/console/playground", "/console/decisions", "/console/consents", "/console/monitoring"}, []string{"/console/usage", "/console/billing", "/console/team", "/console/audit"}},
	} {
		expect(t, s.do("POST", "/v1/members", liveKey, map[string]string{"email": who.user + "@browser.example", "role": who.role}), http.StatusCreated)
		c := newChrome(t, s.base)
		c.signIn(s.base, who.user, "pw-"+who.user)
		nav := get(c, "menu", chromedp.Evaluate[[]string](`[...document.querySelectorAll("nav.side a")].map(a => a.getAttribute("href"))`))
		c.check("home-" + who.role)
		for _, p := range who.offered {
			if !slices.Contains(nav, p) {
				t.Errorf("%s is not offered %s: %v", who.role, p, nav)
			}
			c.do(who.role+" opens "+p, chromedp.Navigate(s.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
			c.check(who.role + strings.ReplaceAll(p, "/", "-"))
		}
		for _, p := range who.withheld {
			if slices.Contains(nav, p) {
				t.Errorf("%s is offered %s", who.role, p)
			}
			c.do(who.role+" opens "+p, chromedp.Navigate(s.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if !strings.Contains(c.text("main"), "lacks the scope") {
				t.Errorf("%s was served %s", who.role, p)
			}
			c.expected("status of 403")
		}
	}
}
