package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/keys"
)

// heapInUse is the heap the test process (server included) holds after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// stall opens a connection that sends a request's headers and the first part of its body, then
// holds the connection open without finishing: what a slow or hostile client does.
func stall(t *testing.T, base, method, path, key string, contentLength, send int) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 20*time.Second) // generous: 400 dials at once on a busy CI machine
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", method, path, u.Host, contentLength)
	if key != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", key)
	}
	if strings.Contains(path, "webhook") {
		b.WriteString("Stripe-Signature: t=1,v1=00\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(`{"company":{"id":"`)
	if pad := send - len(`{"company":{"id":"`); pad > 0 {
		b.WriteString(strings.Repeat("9", pad))
	}
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Write([]byte(b.String())) // a refused body may be cut short by the server
	return conn
}

// TestABodyFloodStaysWithinItsBudget: hundreds of connections hold almost complete bodies, some
// authenticated at the scoring limit, some announcing a whole mebibyte to the scoring route and to
// the webhook (off here). Bodies over a route's limit, and webhooks while they are off, are
// refused before a byte is read; the rest wait for the body budget or get 503. Meanwhile the heap
// stays within the budget plus a margin, and /healthz and ordinary scoring calls still answer.
func TestABodyFloodStaysWithinItsBudget(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_BODY_MEMORY_MB": "4"})
	a := s.signup("flo@flood.example")
	s.unlimit(a.TenantID)
	before := heapInUse()

	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	open := func(n int, method, path, key string, length, send int) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := stall(t, s.base, method, path, key, length, send)
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}()
		}
	}
	const mib = 1 << 20
	open(150, "POST", "/v1/scores", a.Sandbox, 64<<10, 60<<10)  // at the scoring limit, never finished
	open(100, "POST", "/v1/scores", a.Sandbox, mib-1, 400<<10)  // over it: refused unread
	open(100, "POST", "/v1/stripe/webhook", "", mib-1, 400<<10) // webhooks off: refused unread
	open(50, "POST", "/v1/signup", "", mib-1, 400<<10)          // over the default limit: refused unread
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	time.Sleep(1500 * time.Millisecond) // past the budget's one-second wait

	if r := s.do("GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("/healthz during the flood: %d", r.Status)
	}
	ok := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}}, nil)
	expect(t, ok, http.StatusOK)
	growth := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %.1f MiB under %d stalled connections", float64(growth)/mib, len(conns))
	if growth > 24*mib {
		t.Errorf("heap grew by %.1f MiB during the flood, want it bounded by the 4 MiB body budget and the connections' buffers", float64(growth)/mib)
	}
	served := func(route, status string) int {
		m := s.do("GET", "/metrics", "", nil)
		n := 0
		for _, line := range strings.Split(string(m.Raw), "\n") {
			if strings.HasPrefix(line, "rocketfin_http_requests_total{") && strings.Contains(line, `route="`+route+`"`) && strings.Contains(line, `status="`+status+`"`) {
				fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n)
			}
		}
		return n
	}
	if n := served("/v1/scores", "400"); n < 100 {
		t.Errorf("%d scoring bodies over the limit refused, want the 100 sent", n)
	}
	if n := served("/v1/stripe/webhook", "403"); n < 100 {
		t.Errorf("%d webhooks refused while off, want the 100 sent", n)
	}
	if n := served("/v1/signup", "400") + served("/v1/signup", "429"); n < 50 {
		t.Errorf("%d signups over the limit refused (or rate limited first), want the 50 sent", n)
	}
	if n := served("/v1/scores", "503"); n == 0 {
		t.Error("no scoring body was turned away with 503, want the budget to refuse those it cannot hold")
	}
}

// TestForgedKeysAreThrottledPerAddress: well-formed forged keys (their checksum is public) from
// one address are refused with 429 once its failure budget is spent, before any lookup, while a
// client at another address keeps being served; the failures are counted in /metrics.
func TestForgedKeysAreThrottledPerAddress(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_TRUSTED_PROXIES": "127.0.0.1"})
	a := s.signup("ivy@forgery.example")
	attacker := map[string]string{"X-Forwarded-For": "203.0.113.7"}
	client := map[string]string{"X-Forwarded-For": "198.51.100.9"}
	started := time.Now()
	var unauthorized, throttled int
	for i := 0; i < 400; i++ {
		forged, err := keys.NewSecret(keys.Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		r := s.doWith("GET", "/v1/tenant", forged, nil, attacker)
		switch r.Status {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusTooManyRequests:
			throttled++
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After: %s", r.Raw)
			}
		default:
			t.Fatalf("forgery %d answered %d: %s", i, r.Status, r.Raw)
		}
		if i%50 == 0 {
			expect(t, s.doWith("GET", "/v1/tenant", a.Sandbox, nil, client), http.StatusOK)
		}
	}
	allowed := 100 + int(10*time.Since(started).Seconds()) + 1
	if unauthorized > allowed || throttled < 400-allowed {
		t.Fatalf("%d forgeries looked up and %d throttled, want at most %d looked up (burst 100, 10 a second)", unauthorized, throttled, allowed)
	}
	metrics := string(s.do("GET", "/metrics", "", nil).Raw)
	for _, want := range []string{`rocketfin_auth_failures_total{reason="unknown"} ` + strconv.Itoa(unauthorized),
		`rocketfin_auth_failures_total{reason="throttled"} ` + strconv.Itoa(throttled)} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestATenantIsLimitedAcrossItsKeys: keys minted to multiply the rate limit share their tenant's
// bucket (twice a credential's), both buckets are named in the RateLimit headers, and the
// sandbox's daily allowance refuses a tenant's calls beyond it, live calls unaffected.
func TestATenantIsLimitedAcrossItsKeys(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_SANDBOX_DAILY_CALLS": "12"})
	a := s.signup("tia@tenantlimit.example")
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken,
		map[string]any{"rate_limit": map[string]any{"per_second": 0.01, "burst": 2}}), http.StatusOK)
	secrets := []string{a.Sandbox}
	for i := 0; i < 2; i++ {
		r := s.do("POST", "/v1/keys", a.Sandbox, map[string]any{"name": "extra"})
		expect(t, r, http.StatusCreated)
		secrets = append(secrets, r.str("secret"))
	}
	body := map[string]any{"company": map[string]any{"id": "999000011"}}
	var statuses []int
	var refused []response
	for _, k := range secrets {
		for i := 0; i < 2; i++ {
			r := s.post(k, body, nil)
			statuses = append(statuses, r.Status)
			if r.Status == http.StatusTooManyRequests {
				refused = append(refused, r)
			}
			if !strings.Contains(r.Header.Get("RateLimit-Policy"), `"credential"`) ||
				(r.Status == http.StatusOK && !strings.Contains(r.Header.Get("RateLimit"), `"tenant";r=`)) {
				t.Fatalf("RateLimit headers %q / %q, want the credential and the tenant", r.Header.Get("RateLimit-Policy"), r.Header.Get("RateLimit"))
			}
		}
	}
	// Each key's burst is 2 and the tenant's 4: the third key finds the tenant's bucket empty.
	want := []int{200, 200, 200, 200, 429, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
	limited := refused[0]
	expectProblem(t, limited, http.StatusTooManyRequests, "rate_limited", "")
	if !strings.Contains(limited.str("detail"), "tenant") || limited.Header.Get("Retry-After") == "" {
		t.Fatalf("429 from the tenant's bucket: %s", limited.Raw)
	}

	// The sandbox allowance (12 a day here), with the rate limit lifted.
	s.unlimit(a.TenantID)
	s.clock.Advance(2 * time.Second) // past the tenant cache's second
	ok := 4
	for ; ok < 20; ok++ {
		if r := s.post(a.Sandbox, body, nil); r.Status != http.StatusOK {
			expectProblem(t, r, http.StatusTooManyRequests, "rate_limited", "")
			if !strings.Contains(r.str("detail"), "a day") || r.Header.Get("Retry-After") == "" {
				t.Fatalf("allowance refusal: %s", r.Raw)
			}
			break
		}
	}
	if ok != 12 {
		t.Fatalf("%d sandbox calls answered, want the 12 of the allowance", ok)
	}
	expect(t, s.post(a.Live, liveBody(1), nil), http.StatusOK)
}

// TestTerminatedConnectionsAreNever500: database backends are terminated (pg_terminate_backend)
// three times while live calls run. Calls then fail with 503 unavailable and Retry-After, never
// 500; every answered call is recorded with its usage event; the service recovers.
func TestTerminatedConnectionsAreNever500(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("dan@dbdrop.example")
	s.unlimit(a.TenantID)
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	admin, err := database.Open(context.Background(), database.Options{URL: s.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(admin)

	var mu sync.Mutex
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := s.post(a.Live, liveBody(w*100000+i), nil)
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
				if r.Status == http.StatusServiceUnavailable && (r.Header.Get("Retry-After") == "" || r.str("code") != "unavailable") {
					t.Errorf("503 without Retry-After or code unavailable: %s", r.Raw)
				}
				if r.Status == http.StatusInternalServerError {
					t.Errorf("500 while the database restarted: %s", r.Raw)
				}
			}
		}(w)
	}
	for k := 0; k < 3; k++ {
		time.Sleep(300 * time.Millisecond)
		if err := admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").Error; err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("statuses under terminated connections: %v", statuses)
	if statuses[http.StatusOK] == 0 {
		t.Fatalf("no call succeeded: %v", statuses)
	}
	var ok response
	for i := 0; i < 20; i++ { // the pool replaces its broken connections
		if ok = s.post(a.Live, liveBody(999999), nil); ok.Status == http.StatusOK {
			break
		}
	}
	expect(t, ok, http.StatusOK)
	decisions, usage, _ := counts(t, s.env["DATABASE_URL"], a.TenantID, "live")
	if decisions < int64(statuses[http.StatusOK]+1) || usage != decisions {
		t.Fatalf("%d decisions and %d usage events for %d answered calls: want every answer recorded, with its usage event", decisions, usage, statuses[http.StatusOK]+1)
	}
}

// TestUsageExportDefusesFormulas: an Idempotency-Key the client chose that a spreadsheet would run
// as a formula is exported behind a quote.
func TestUsageExportDefusesFormulas(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("fay@formula.example")
	evil := `=HYPERLINK("http://evil.example","x")`
	expect(t, s.post(a.Live, liveBody(1), map[string]string{"Idempotency-Key": strings.ReplaceAll(evil, " ", "")}), http.StatusOK)
	csv := s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Live, nil)
	expect(t, csv, http.StatusOK)
	if strings.Contains(string(csv.Raw), `,"=HYPERLINK`) || !strings.Contains(string(csv.Raw), `"'=HYPERLINK`) {
		t.Fatalf("export:\n%s", csv.Raw)
	}
}

// TestAnAbandonedIdempotencyClaimIsTakenOverAfterItsLease: a call that claimed a consent's
// Idempotency-Key and then died (the row a crash leaves: claimed, no answer) holds the key off for
// the 30-second lease only; a retry after it creates the consent.
func TestAnAbandonedIdempotencyClaimIsTakenOverAfterItsLease(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ola@lease.example")
	db, err := database.Open(context.Background(), database.Options{URL: s.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	now := s.clock.Now()
	if err := db.Exec(`INSERT INTO idempotency_keys (tenant_id, environment, key, request_hash, status, response, score_id, created_at, expires_at)
		VALUES (?, 'live', 'consents/consent-crash', 'whatever', 0, '', '', ?, ?)`, a.TenantID, now, now.Add(24*time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"company_id": "FR-LEASE", "scopes": []string{"bank_data"}, "evidence": "form 9"}
	key := map[string]string{"Idempotency-Key": "consent-crash"}
	expectProblem(t, s.doWith("POST", "/v1/consents", a.Live, body, key), http.StatusConflict, "idempotency_conflict", "")
	s.clock.Advance(31 * time.Second)
	first := s.doWith("POST", "/v1/consents", a.Live, body, key)
	expect(t, first, http.StatusCreated)
	again := s.doWith("POST", "/v1/consents", a.Live, body, key)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.str("id") != first.str("id") {
		t.Fatalf("after the takeover the key replays: %s", again.Raw)
	}
}

// TestOperatorRateLimitsStayReadable: a rate below 0.001 a second is refused (its window would
// overflow the headers); at the minimum, a refused call still says when to retry.
func TestOperatorRateLimitsStayReadable(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("una@ratemin.example")
	for _, ps := range []float64{0, 1e-300, 0.0009, 100001} {
		expectProblem(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken,
			map[string]any{"rate_limit": map[string]any{"per_second": ps, "burst": 1}}), http.StatusBadRequest, "invalid_request", "rate_limit.per_second")
	}
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken,
		map[string]any{"rate_limit": map[string]any{"per_second": 0.001, "burst": 1}}), http.StatusOK)
	body := map[string]any{"company": map[string]any{"id": "999000011"}}
	expect(t, s.post(a.Sandbox, body, nil), http.StatusOK)
	r := s.post(a.Sandbox, body, nil)
	expectProblem(t, r, http.StatusTooManyRequests, "rate_limited", "")
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 1000 {
		t.Fatalf("Retry-After %q at the minimum rate, want about 1000 seconds", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.Header.Get("RateLimit-Policy"), `"credential";q=1;w=1000`) {
		t.Fatalf("RateLimit-Policy %q", r.Header.Get("RateLimit-Policy"))
	}
}

// TestMetricsStayOffThePublicListener: on the API listener /metrics answers this machine only
// (not a proxied request); with ROCKETFIN_METRICS_ADDR it lives on its own listener alone.
func TestMetricsStayOffThePublicListener(t *testing.T) {
	s := startServer(t, nil)
	expect(t, s.do("GET", "/healthz", "", nil), http.StatusOK)
	m := s.do("GET", "/metrics", "", nil)
	expect(t, m, http.StatusOK)
	if !strings.Contains(string(m.Raw), "rocketfin_http_requests_total") {
		t.Fatalf("/metrics from loopback:\n%.500s", m.Raw)
	}
	expectProblem(t, s.doWith("GET", "/metrics", "", nil, map[string]string{"X-Forwarded-For": "203.0.113.9"}), http.StatusNotFound, "not_found", "")

	own := startServer(t, map[string]string{"ROCKETFIN_METRICS_ADDR": "127.0.0.1:0"})
	expect(t, own.do("GET", "/healthz", "", nil), http.StatusOK)
	expectProblem(t, own.do("GET", "/metrics", "", nil), http.StatusNotFound, "not_found", "")
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+/metrics`).FindString(own.logs.String())
	if url == "" {
		t.Fatalf("no metrics URL in the log:\n%s", own.logs.String())
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "rocketfin_http_requests_total") {
		t.Fatalf("%s: %d\n%.500s", url, res.StatusCode, body)
	}
}

// TestStrictBodiesNameTheFieldAndType: what encoding/json would take silently or describe in Go
// terms is a 400 naming the JSON path and the type expected.
func TestStrictBodiesNameTheFieldAndType(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ida@strict.example")
	cases := []struct {
		path, body, field, says string
	}{
		{"/v1/consents", `{"company_id":"FR-1","scopes":["bank_data"],"evidence":"f","expires_at":"next week"}`, "expires_at", "RFC 3339"},
		{"/v1/consents", `null`, "body", "JSON object"},
		{"/v1/consents", `[1]`, "body", "JSON object"},
		{"/v1/consents", `{"company_id":"FR-1","company_id":"FR-2","scopes":["bank_data"],"evidence":"f"}`, "company_id", "twice"},
		{"/v1/scores", `{"company":{"id":"999000011","ID":"x"}}`, "company.ID", `did you mean`},
		{"/v1/scores", `{"company":{"id":"FR-9","siret":"1"}}`, "company.siret", `not a known field`},
		{"/v1/scores", `{"company":{"id":"FR-9"},"financials":[{"revenue":1e400}]}`, "financials[0].revenue", `1e400`},
		{"/v1/scores", `{"company":{"id":"FR-9"},"financials":{"revenue":1}}`, "financials", "must be an array"},
		{"/v1/scores", `{"company":{"id":"FR-9"},"financials":[{"revenue":"1e6"}]}`, "financials[0].revenue", "must be a number, not a string"},
		{"/v1/keys", `{"name":"k","environment":7}`, "environment", "must be a string, not a number"},
	}
	for _, c := range cases {
		r := s.do("POST", c.path, a.Sandbox, c.body)
		expectProblem(t, r, http.StatusBadRequest, "invalid_request", c.field)
		if !strings.Contains(string(r.Raw), c.says) || strings.Contains(string(r.Raw), "UnmarshalJSON") {
			t.Errorf("POST %s %s: %s", c.path, c.body, r.Raw)
		}
	}
}

// TestCodesAndNamesAreChecked: ISO countries and currencies, the SIREN check digit, and names
// without bidirectional overrides or zero-width characters.
func TestCodesAndNamesAreChecked(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("jo@codes.example")
	signup := func(name, country string) response {
		return s.do("POST", "/v1/signup", "", map[string]string{"company_name": name, "email": "x" + strconv.Itoa(len(name)) + country + "@codes.example", "country": country})
	}
	expectProblem(t, signup("Acme\u202eLRAS", "FR"), http.StatusBadRequest, "invalid_request", "company_name")
	expectProblem(t, signup("Acme", "UK"), http.StatusBadRequest, "invalid_request", "country")
	expectProblem(t, s.do("POST", "/v1/keys", a.Sandbox, map[string]string{"name": "ci\u200bkey"}), http.StatusBadRequest, "invalid_request", "name")

	company := func(extra map[string]any) map[string]any {
		c := map[string]any{"id": "552100554", "id_type": "siren", "name": "Client", "country": "FR"}
		for k, v := range extra {
			c[k] = v
		}
		body := liveBody(1)
		body["company"] = c
		return body
	}
	expect(t, s.post(a.Live, company(nil), nil), http.StatusOK)
	expectProblem(t, s.post(a.Live, company(map[string]any{"id": "552 100 555"}), nil), http.StatusBadRequest, "invalid_request", "company.id")
	expectProblem(t, s.post(a.Live, company(map[string]any{"country": "ZZ"}), nil), http.StatusBadRequest, "invalid_request", "company.country")
	expectProblem(t, s.post(a.Live, company(map[string]any{"name": "Client\u2066 SA"}), nil), http.StatusBadRequest, "invalid_request", "company.name")
	xbt := liveBody(2)
	xbt["financials"].([]map[string]any)[0]["currency"] = "XBT"
	expectProblem(t, s.post(a.Live, xbt, nil), http.StatusBadRequest, "invalid_request", "financials[0].currency")
	if c := creditsOf(s, a.Live); c != 4 {
		t.Fatalf("%v credits left, want 4: refused calls spend nothing", c)
	}
}

// TestSignupLimitGroupsIPv6AndIsShared: an IPv6 client's whole /64 shares one signup budget,
// and with the PostgreSQL rate-limit store, so do all replicas.
func TestSignupLimitGroupsIPv6AndIsShared(t *testing.T) {
	env := map[string]string{"ROCKETFIN_SIGNUP_PER_HOUR": "2", "ROCKETFIN_TRUSTED_PROXIES": "127.0.0.1", "ROCKETFIN_RATE_LIMIT_STORE": "postgres"}
	a := startServer(t, env)
	envB := map[string]string{"DATABASE_URL": a.env["DATABASE_URL"]}
	for k, v := range env {
		envB[k] = v
	}
	b := startServer(t, envB)
	n := 0
	signup := func(s *testServer, from string) response {
		n++
		return s.doWith("POST", "/v1/signup", "", map[string]string{"company_name": "V6", "email": fmt.Sprintf("v6-%d@limit.example", n), "country": "FR"},
			map[string]string{"X-Forwarded-For": from})
	}
	expect(t, signup(a, "2001:db8:1:2::1"), http.StatusCreated)
	expect(t, signup(b, "2001:db8:1:2:ffff::9"), http.StatusCreated)
	r := signup(a, "2001:db8:1:2:abcd::42")
	expectProblem(t, r, http.StatusTooManyRequests, "rate_limited", "")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	expectProblem(t, signup(b, "2001:db8:1:2::7"), http.StatusTooManyRequests, "rate_limited", "")
	expect(t, signup(b, "2001:db8:1:3::1"), http.StatusCreated)
	expect(t, signup(a, "198.51.100.4"), http.StatusCreated)
}
