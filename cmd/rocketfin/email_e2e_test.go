package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/mail/mailtest"
)

var verifyLink = regexp.MustCompile(`https?://[^\s"]+/verify-email\?token=[^\s"]+`)

// page is an HTML answer.
type page struct {
	status int
	body   string
}

func (s *testServer) page(method, link string, form url.Values) page {
	s.t.Helper()
	var res *http.Response
	var err error
	if method == "GET" {
		res, err = s.client.Get(link)
	} else {
		res, err = s.client.PostForm(link, form)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		s.t.Fatalf("%s %s: Content-Type %q, want an HTML page", method, link, ct)
	}
	if res.Header.Get("Referrer-Policy") != "no-referrer" || res.Header.Get("Cache-Control") != "no-store" {
		s.t.Fatalf("%s %s: the page may leak its token (headers %v)", method, link, res.Header)
	}
	return page{res.StatusCode, string(b)}
}

// follow opens a link as a person would: the page, then its button.
func (s *testServer) follow(link string) page {
	s.t.Helper()
	p := s.page("GET", link, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `<form method="post"`) {
		s.t.Fatalf("GET %s: %d\n%s", link, p.status, p.body)
	}
	u, _ := url.Parse(link)
	return s.page("POST", s.base+u.Path, url.Values{"token": {u.Query().Get("token")}})
}

func nextLink(t *testing.T, smtp *mailtest.Server, to string) string {
	t.Helper()
	m, ok := smtp.Next(10 * time.Second)
	if !ok {
		t.Fatalf("no email reached the SMTP server for %s", to)
	}
	if len(m.To) != 1 || m.To[0] != to {
		t.Fatalf("email went to %v, want %s", m.To, to)
	}
	link := verifyLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no verification link in the email:\n%s", m.Text)
	}
	return link
}

func creditsOf(s *testServer, key string) float64 {
	s.t.Helper()
	r := s.do("GET", "/v1/tenant", key, nil)
	expect(s.t, r, http.StatusOK)
	return r.Body["credits_remaining"].(float64)
}

// Live calls wait for the signup email to be verified through the link mailed to it; sandbox
// calls do not. The link works once, through a page whose GET changes nothing.
func TestLiveCallsWaitForAVerifiedEmail(t *testing.T) {
	for name, db := range map[string]string{"postgres": "", "embedded": "embedded"} {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t, "", "")
			env := map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": "required", "ROCKETFIN_SMTP_URL": smtp.URL(),
				"ROCKETFIN_MAIL_FROM": "RocketFin <no-reply@rocketfin.test>"}
			if db == "embedded" {
				env["DATABASE_URL"], env["ROCKETFIN_DATA_DIR"] = "", t.TempDir()
			}
			s := startServer(t, env)
			a := s.signup("Ada@Verify.example")
			if a.Body.str("email_verification", "email") != "ada@verify.example" || a.Body.str("email_verification", "expires_at") == "" {
				t.Fatalf("signup answer: %s", a.Body.Raw)
			}
			if v := a.Body.Body["tenant"].(map[string]any)["email_verified"]; v != false {
				t.Fatalf("email_verified %v right after signup", v)
			}
			expectProblem(t, s.post(a.Live, liveBody(1), nil), http.StatusForbidden, "email_unverified", "")
			expect(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}}, nil), http.StatusOK)
			if c := creditsOf(s, a.Live); c != 5 {
				t.Fatalf("%v credits after a refused live call, want 5", c)
			}

			link := nextLink(t, smtp, "ada@verify.example")
			// Opening the page (what a mail scanner does) verifies nothing.
			if p := s.page("GET", link, nil); p.status != http.StatusOK {
				t.Fatalf("GET link: %d", p.status)
			}
			s.clock.Advance(2 * time.Second)
			expectProblem(t, s.post(a.Live, liveBody(2), nil), http.StatusForbidden, "email_unverified", "")

			if p := s.follow(link); p.status != http.StatusOK || !strings.Contains(p.body, "ada@verify.example is verified") {
				t.Fatalf("following the link: %d\n%s", p.status, p.body)
			}
			s.clock.Advance(2 * time.Second) // past the tenant cache
			expect(t, s.post(a.Live, liveBody(3), nil), http.StatusOK)
			if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["email_verified"] != true {
				t.Fatalf("tenant after verification: %s", r.Raw)
			}
			// The link works once.
			if p := s.follow(link); p.status != http.StatusConflict || !strings.Contains(p.body, "already used") {
				t.Fatalf("second use: %d\n%s", p.status, p.body)
			}
			expectProblem(t, s.do("POST", "/v1/email-verification", a.Sandbox, nil), http.StatusConflict, "conflict", "")
		})
	}
}

// An expired link is refused; the owner asks for a new one, at most one a minute.
func TestAnExpiredLinkIsReplacedOnRequest(t *testing.T) {
	smtp := mailtest.Start(t, "", "")
	s := startServer(t, map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": "required", "ROCKETFIN_SMTP_URL": smtp.URL()})
	a := s.signup("bea@expiry.example")
	old := nextLink(t, smtp, "bea@expiry.example")
	s.clock.Advance(24*time.Hour + time.Second)
	if p := s.follow(old); p.status != http.StatusConflict || !strings.Contains(p.body, "expired") {
		t.Fatalf("expired link: %d\n%s", p.status, p.body)
	}
	r := s.do("POST", "/v1/email-verification", a.Live, nil)
	expect(t, r, http.StatusAccepted)
	if r.str("email") != "bea@expiry.example" || r.str("status") != "sent" {
		t.Fatalf("resend: %s", r.Raw)
	}
	fresh := nextLink(t, smtp, "bea@expiry.example")
	if fresh == old {
		t.Fatal("the new link is the old one")
	}
	again := s.do("POST", "/v1/email-verification", a.Live, nil)
	expectProblem(t, again, http.StatusTooManyRequests, "rate_limited", "")
	if again.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// A forged or truncated token is refused the same way as an unknown one.
	if p := s.page("POST", s.base+"/verify-email", url.Values{"token": {"evt_forged"}}); p.status != http.StatusNotFound {
		t.Fatalf("forged token: %d", p.status)
	}
	if p := s.follow(fresh); p.status != http.StatusOK {
		t.Fatalf("fresh link: %d\n%s", p.status, p.body)
	}
	s.clock.Advance(2 * time.Second)
	expect(t, s.post(a.Live, liveBody(1), nil), http.StatusOK)
}

// Without SMTP settings the link goes to the log, so a first run needs no mail server.
func TestWithoutSMTPTheLinkIsLogged(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": ""})
	a := s.signup("cy@nosmtp.example")
	deadline := time.Now().Add(10 * time.Second)
	var link string
	for link == "" && time.Now().Before(deadline) {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(line, "cy@nosmtp.example") && strings.Contains(line, "ROCKETFIN_SMTP_URL") {
				link = verifyLink.FindString(line)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if link == "" {
		t.Fatalf("no verification link in the log:\n%s", s.logs.String())
	}
	if p := s.follow(link); p.status != http.StatusOK {
		t.Fatalf("logged link: %d\n%s", p.status, p.body)
	}
	s.clock.Advance(2 * time.Second)
	expect(t, s.post(a.Live, liveBody(1), nil), http.StatusOK)
}

// Support staff confirm or withdraw an email by hand; with the check off, live calls go on
// at once and the server says so when it starts.
func TestOperatorsVerifyEmailsAndTheCheckCanBeOff(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": "required"})
	a := s.signup("dan@operator.example")
	expectProblem(t, s.post(a.Live, liveBody(1), nil), http.StatusForbidden, "email_unverified", "")
	r := s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"email_verified": true})
	expect(t, r, http.StatusOK)
	if r.Body["email_verified"] != true {
		t.Fatalf("operator patch: %s", r.Raw)
	}
	s.clock.Advance(2 * time.Second)
	expect(t, s.post(a.Live, liveBody(2), nil), http.StatusOK)
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"email_verified": false}), http.StatusOK)
	s.clock.Advance(2 * time.Second)
	expectProblem(t, s.post(a.Live, liveBody(3), nil), http.StatusForbidden, "email_unverified", "")

	off := startServer(t, map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": "off"})
	if !strings.Contains(off.logs.String(), "ROCKETFIN_EMAIL_VERIFICATION=off") {
		t.Fatalf("no warning at start with the check off:\n%s", off.logs.String())
	}
	b := off.signup("eve@off.example")
	if _, ok := b.Body.Body["email_verification"]; ok {
		t.Fatalf("a link was sent with the check off: %s", b.Body.Raw)
	}
	expect(t, off.post(b.Live, liveBody(1), nil), http.StatusOK)
}

// Whoever signs up first with an address they do not own holds it for a day at most: then the
// owner can sign up, and the squatter's account keeps its keys but can never verify it.
func TestASquattedEmailIsReleasedAfterADay(t *testing.T) {
	smtp := mailtest.Start(t, "", "")
	s := startServer(t, map[string]string{"ROCKETFIN_EMAIL_VERIFICATION": "required", "ROCKETFIN_SMTP_URL": smtp.URL()})
	squatter := s.signup("victim@squat.example")
	squatLink := nextLink(t, smtp, "victim@squat.example")
	body := map[string]string{"company_name": "Victim SA", "email": "VICTIM@squat.example", "country": "FR"}
	expectProblem(t, s.do("POST", "/v1/signup", "", body), http.StatusConflict, "conflict", "")

	s.clock.Advance(24*time.Hour + time.Minute)
	// The owner of an account who asked for a fresh link keeps the address while it works.
	s.clock.Advance(time.Minute)
	expect(t, s.do("POST", "/v1/email-verification", squatter.Sandbox, nil), http.StatusAccepted)
	nextLink(t, smtp, "victim@squat.example")
	expectProblem(t, s.do("POST", "/v1/signup", "", body), http.StatusConflict, "conflict", "")
	s.clock.Advance(24*time.Hour + time.Minute)
	r := s.do("POST", "/v1/signup", "", body)
	expect(t, r, http.StatusCreated)
	ownerLink := nextLink(t, smtp, "victim@squat.example")
	if p := s.follow(ownerLink); p.status != http.StatusOK {
		t.Fatalf("the owner's link: %d\n%s", p.status, p.body)
	}
	// The squatter's account still answers, but holds the address no more.
	if p := s.follow(squatLink); p.status == http.StatusOK {
		t.Fatalf("the squatter's old link verified: %s", p.body)
	}
	expectProblem(t, s.do("POST", "/v1/email-verification", squatter.Sandbox, nil), http.StatusConflict, "conflict", "")
	// Nor may the address sign in to it as its owner.
	ms := s.do("GET", "/v1/members", squatter.Sandbox, nil)
	if data := ms.Body["data"].([]any); len(data) != 1 || dig(data[0], "email") != squatter.TenantID+"@released.invalid" {
		t.Fatalf("the squatter's owner still answers to the address: %s", ms.Raw)
	}
	s.clock.Advance(2 * time.Second)
	expectProblem(t, s.post(squatter.Live, liveBody(1), nil), http.StatusForbidden, "email_unverified", "")
	// A verified address is never released.
	s.clock.Advance(48 * time.Hour)
	expectProblem(t, s.do("POST", "/v1/signup", "", body), http.StatusConflict, "conflict", "")
}
