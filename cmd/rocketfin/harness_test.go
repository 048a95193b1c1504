package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
)

// syncBuffer collects the server's log lines across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the real program started through run() on a random port.
type testServer struct {
	t      testing.TB
	base   string
	clock  *clock.Fake
	logs   *syncBuffer
	stdout *syncBuffer
	env    map[string]string
	stop   func() error
	client *http.Client
}

const operatorToken = "op_test_token_0123456789"

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// startServer runs `rocketfin serve` against a fresh PostgreSQL database
// unless env says otherwise.
func startServer(t testing.TB, env map[string]string, opts ...option) *testServer {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["DATABASE_URL"]; !ok {
		env["DATABASE_URL"] = dbtest.PostgresURL(t)
	}
	if _, ok := env["ROCKETFIN_DATA_DIR"]; !ok {
		env["ROCKETFIN_DATA_DIR"] = t.TempDir() // the generated secret key lives there
	}
	if _, ok := env["ROCKETFIN_ADDR"]; !ok {
		env["ROCKETFIN_ADDR"] = "127.0.0.1:0"
	}
	if _, ok := env["ROCKETFIN_OPERATOR_TOKEN"]; !ok {
		env["ROCKETFIN_OPERATOR_TOKEN"] = operatorToken
	}
	if _, ok := env["ROCKETFIN_EMAIL_VERIFICATION"]; !ok {
		// The suites sign up tenants by the hundred; email_test.go runs the check itself.
		env["ROCKETFIN_EMAIL_VERIFICATION"] = "off"
	}
	if _, ok := env["ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK"]; !ok {
		// Test receivers listen on loopback.
		env["ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK"] = "true"
	}
	return startWith(t, env, clock.NewFake(epoch), opts...)
}

func startWith(t testing.TB, env map[string]string, clk *clock.Fake, opts ...option) *testServer {
	t.Helper()
	s := &testServer{t: t, clock: clk, logs: &syncBuffer{}, stdout: &syncBuffer{}, env: env,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, s.stdout,
			append([]option{func(d *deps) {
				d.clock = clk
				d.logOut = s.logs
				d.onReady = func(addr string) { ready <- addr }
			}}, opts...)...)
	}()
	select {
	case s.base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\nlogs:\n%s", err, s.logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60s")
	}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = context.DeadlineExceeded
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	return s
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r response) str(path ...string) string {
	v := dig(r.Body, path...)
	s, _ := v.(string)
	return s
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (s *testServer) do(method, path, key string, body any) response {
	s.t.Helper()
	return s.doWith(method, path, key, body, nil)
}

// doWith sends a request with extra headers.
func (s *testServer) doWith(method, path, key string, body any, header map[string]string) response {
	s.t.Helper()
	return send(s.t, s.client, s.base, method, path, key, body, header)
}

// send makes one request of a server at base and decodes a JSON answer;
// body is a string or bytes sent as is, or a value encoded as JSON.
func send(t testing.TB, client *http.Client, base, method, path, key string, body any, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	checkContract(t, req, res, raw)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// expect fails the test unless the answer has the status.
func expect(t testing.TB, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
}

// expectProblem checks a problem+json answer: status, code, request id,
// and the named field when one is given.
func expectProblem(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	expect(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	if got := r.str("code"); got != code {
		t.Fatalf("code %q, want %q; body: %s", got, code, r.Raw)
	}
	if r.str("request_id") == "" || r.str("request_id") != r.Header.Get("X-Request-Id") {
		t.Fatalf("request_id %q does not match X-Request-Id %q", r.str("request_id"), r.Header.Get("X-Request-Id"))
	}
	if int(r.Body["status"].(float64)) != status || r.str("title") == "" || r.str("type") == "" {
		t.Fatalf("problem lacks status/title/type: %s", r.Raw)
	}
	if field == "" {
		return
	}
	errs, _ := r.Body["errors"].([]any)
	for _, e := range errs {
		if f, _ := e.(map[string]any)["field"].(string); f == field {
			return
		}
	}
	t.Fatalf("errors do not name field %q: %s", field, r.Raw)
}

// account is a signed-up tenant with its two keys.
type account struct {
	TenantID string
	Sandbox  string
	Live     string
	Body     response
}

func (s *testServer) signup(email string) account {
	s.t.Helper()
	r := s.do("POST", "/v1/signup", "", map[string]string{"company_name": "Acme " + email, "email": email, "country": "FR"})
	expect(s.t, r, http.StatusCreated)
	a := account{TenantID: r.str("tenant", "id"), Body: r}
	for _, k := range r.Body["api_keys"].([]any) {
		m := k.(map[string]any)
		switch m["environment"] {
		case "sandbox":
			a.Sandbox = m["secret"].(string)
		case "live":
			a.Live = m["secret"].(string)
		}
	}
	if a.TenantID == "" || a.Sandbox == "" || a.Live == "" {
		s.t.Fatalf("signup answer lacks tenant or keys: %s", r.Raw)
	}
	return a
}

// keyID finds the id of the key a secret belongs to, by its last four.
func (s *testServer) keyID(secret string) string {
	s.t.Helper()
	r := s.do("GET", "/v1/keys?limit=100", secret, nil)
	expect(s.t, r, http.StatusOK)
	for _, k := range r.Body["data"].([]any) {
		m := k.(map[string]any)
		if m["last4"] == secret[len(secret)-4:] && strings.HasPrefix(secret, m["prefix"].(string)) {
			return m["id"].(string)
		}
	}
	s.t.Fatalf("no key listed for secret ending %s", secret[len(secret)-4:])
	return ""
}
