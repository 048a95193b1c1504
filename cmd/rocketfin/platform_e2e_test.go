package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/openapi"
	"github.com/rocketfin/rocketfin/internal/testcert"
	"github.com/rocketfin/rocketfin/keys"
)

func TestHealthReadinessMetricsAndRequestIDs(t *testing.T) {
	s := startServer(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		r := s.do("GET", path, "", nil)
		expect(t, r, http.StatusOK)
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s has no X-Request-Id", path)
		}
	}
	req, _ := http.NewRequest("GET", s.base+"/healthz", nil)
	req.Header.Set("X-Request-Id", "crm-trace-42")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// Ours is the id on records and in answers; the caller's is logged beside it.
	ours := res.Header.Get("X-Request-Id")
	if ours == "crm-trace-42" || !strings.HasPrefix(ours, "req_") {
		t.Fatalf("X-Request-Id %q, want one of ours, not the caller's", ours)
	}
	if !strings.Contains(s.logs.String(), `"client_request_id":"crm-trace-42"`) || !strings.Contains(s.logs.String(), ours) {
		t.Fatalf("the log does not keep the caller's id beside ours:\n%s", s.logs.String())
	}
	expectProblem(t, s.do("GET", "/v1/nothing-here", "", nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("PUT", "/v1/signup", "", nil), http.StatusMethodNotAllowed, "method_not_allowed", "")

	m := s.do("GET", "/metrics", "", nil)
	expect(t, m, http.StatusOK)
	body := string(m.Raw)
	for _, want := range []string{
		`rocketfin_http_requests_total{method="GET",route="/healthz",status="200"}`,
		`rocketfin_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="200"`,
		`rocketfin_http_requests_total{method="GET",route="unmatched",status="404"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestEveryLogLineIsJSONAndRequestLinesCarryTheRequestID(t *testing.T) {
	s := startServer(t, nil)
	s.signup("nina@example.com")
	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	requests := 0
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["msg"] == "request" {
			requests++
			if id, _ := entry["request_id"].(string); id == "" {
				t.Fatalf("request log line without request_id: %s", line)
			}
		}
	}
	if requests == 0 {
		t.Fatal("no request was logged")
	}
}

func TestNoSecretIsStoredInClearOrLogged(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	s := startServer(t, map[string]string{"DATABASE_URL": dbURL, "ROCKETFIN_LOG_LEVEL": "debug"})
	a := s.signup("olga@example.com")
	created := s.do("POST", "/v1/keys", a.Live, map[string]string{"name": "extra"})
	rotated := s.do("POST", "/v1/keys/"+s.keyID(a.Sandbox)+"/rotate", a.Sandbox, nil)
	s.do("GET", "/v1/tenant", "rf_live_"+strings.Repeat("Z", 36), nil)
	secrets := []string{a.Live, a.Sandbox, created.str("secret"), rotated.str("secret")}

	db, err := database.Open(context.Background(), database.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	dump := dumpTables(t, db, "tenants", "members", "api_keys")
	logs := s.logs.String() + s.stdout.String()
	for _, secret := range secrets {
		body := secret[8:]
		if strings.Contains(dump, body) {
			t.Errorf("a secret is stored in clear: ...%s", secret[len(secret)-4:])
		}
		if strings.Contains(logs, body) {
			t.Errorf("a secret was logged: ...%s", secret[len(secret)-4:])
		}
		if !strings.Contains(dump, keys.HashSecret(secret)) {
			t.Errorf("the hash of secret ...%s is not stored", secret[len(secret)-4:])
		}
	}
	if strings.Contains(logs, operatorToken) {
		t.Error("the operator token was logged")
	}
}

// dumpTables renders every row of the tables as text.
func dumpTables(t *testing.T, db *gorm.DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables {
		var rows []map[string]any
		if err := db.Table(table).Find(&rows).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, r := range rows {
			j, _ := json.Marshal(r)
			b.Write(j)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestOperatorCanExtendTrialsGrantCreditsAndSuspend(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("paulo@example.com")
	path := "/admin/v1/tenants/" + a.TenantID

	expectProblem(t, s.do("GET", path, "", nil), http.StatusUnauthorized, "unauthenticated", "")
	expectProblem(t, s.do("GET", path, "wrong-token-0123456789", nil), http.StatusUnauthorized, "unauthenticated", "")
	expectProblem(t, s.do("GET", path, a.Live, nil), http.StatusUnauthorized, "unauthenticated", "")

	r := s.do("GET", path, operatorToken, nil)
	expect(t, r, http.StatusOK)
	if r.str("id") != a.TenantID {
		t.Fatalf("operator GET = %s", r.Raw)
	}
	until := epoch.Add(30 * 24 * time.Hour).Format(time.RFC3339)
	r = s.do("PATCH", path, operatorToken, map[string]any{
		"trial_ends_at": until, "credits_remaining": 50, "status": "suspended",
		"rate_limit": map[string]any{"per_second": 100, "burst": 200},
	})
	expect(t, r, http.StatusOK)
	if r.str("trial_ends_at") != until || r.Body["credits_remaining"] != float64(50) || r.str("status") != "suspended" ||
		dig(r.Body, "rate_limit", "burst") != float64(200) {
		t.Fatalf("after PATCH: %s", r.Raw)
	}
	tenant := s.do("GET", "/v1/tenant", a.Live, nil)
	if tenant.Body["credits_remaining"] != float64(50) || tenant.str("status") != "suspended" {
		t.Fatalf("the tenant does not see the change: %s", tenant.Raw)
	}
	expectProblem(t, s.do("PATCH", path, operatorToken, map[string]any{"credits_remaining": -1}), http.StatusBadRequest, "invalid_request", "credits_remaining")
	expectProblem(t, s.do("PATCH", path, operatorToken, map[string]any{"status": "gold"}), http.StatusBadRequest, "invalid_request", "status")
	expectProblem(t, s.do("PATCH", path, operatorToken, map[string]any{"trial_ends_at": "tomorrow"}), http.StatusBadRequest, "invalid_request", "")
	expectProblem(t, s.do("GET", "/admin/v1/tenants/ten_00000000000000000000000000", operatorToken, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/admin/v1/tenants/garbage", operatorToken, nil), http.StatusNotFound, "not_found", "")
}

func TestOperatorAPIIsOffWithoutAToken(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_OPERATOR_TOKEN": ""})
	a := s.signup("quim@example.com")
	expectProblem(t, s.do("GET", "/admin/v1/tenants/"+a.TenantID, "", nil), http.StatusNotFound, "not_found", "")
}

func TestEmbeddedDatabaseServesAFirstRunWithNothingInstalled(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": "", "ROCKETFIN_DATA_DIR": dir}
	s := startServer(t, env)
	a := s.signup("rita@example.com")
	expect(t, s.do("GET", "/v1/tenant", a.Sandbox, nil), http.StatusOK)
	if !strings.Contains(s.stdout.String(), "curl -s -X POST "+s.base+"/v1/signup") || !strings.Contains(s.stdout.String(), s.base+"/console") {
		t.Fatalf("the welcome text lacks a ready-to-paste first call:\n%s", s.stdout.String())
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rocketfin.db")); err != nil {
		t.Fatalf("no embedded database file: %v", err)
	}
	again := startWith(t, env, clock.NewFake(epoch)) // the data survives a restart
	expect(t, again.do("GET", "/v1/tenant", a.Sandbox, nil), http.StatusOK)
}

func TestServeStopsGracefullyOnCancel(t *testing.T) {
	s := startServer(t, nil)
	s.signup("sara@example.com")
	if err := s.stop(); err != nil {
		t.Fatalf("run returned %v after cancel, want nil", err)
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Fatal("no 'stopped' log line after shutdown")
	}
}

func TestMigrateCommandAppliesThenReportsUpToDate(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "", "ROCKETFIN_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	var out syncBuffer
	quiet := func(d *deps) { d.logOut = io.Discard }
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, quiet); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "applied") {
		t.Fatalf("first migrate said %q", out.String())
	}
	out = syncBuffer{}
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, quiet); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate said %q", out.String())
	}
	if err := run(context.Background(), []string{"bogus"}, getenv, io.Discard, quiet); err == nil {
		t.Fatal("an unknown command did not fail")
	}
}

func TestTLSRefusesTLS11AndServesTLS13(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.New(t).Files(t, dir)
	s := startServer(t, map[string]string{"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key})
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("base %q is not https", s.base)
	}
	addr := strings.TrimPrefix(s.base, "https://")
	old, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil {
		old.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
	res, err := client.Get(s.base + "/healthz")
	if err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil || res.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3 request: status %d, state %+v", res.StatusCode, res.TLS)
	}
	if hsts := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Fatalf("Strict-Transport-Security %q over TLS, want max-age", hsts)
	}
}

// TestSecurityHeadersAndHeadProbes: every answer says nosniff and no-store (signup and key
// creation hold secrets), plain HTTP sends no HSTS, and the health probes answer HEAD.
func TestSecurityHeadersAndHeadProbes(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("sam@headers.example")
	key := s.do("POST", "/v1/keys", a.Sandbox, map[string]any{"name": "ci"})
	for _, r := range []response{a.Body, key, s.do("GET", "/v1/tenant", a.Sandbox, nil), s.do("GET", "/v1/nowhere", a.Sandbox, nil)} {
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("status %d: X-Content-Type-Options %q, Cache-Control %q; want nosniff and no-store", r.Status,
				r.Header.Get("X-Content-Type-Options"), r.Header.Get("Cache-Control"))
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS sent over plain HTTP")
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		req, _ := http.NewRequest(http.MethodHead, s.base+path, nil)
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200", path, res.StatusCode)
		}
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q, want 3.1.0", doc.OpenAPI)
	}
	cfg, _ := config.Load(func(k string) string {
		if k == "ROCKETFIN_OPERATOR_TOKEN" {
			return operatorToken
		}
		return ""
	})
	db := dbtest.SQLite(t)
	r := wiredRouter(t, cfg, db)
	param := regexp.MustCompile(`:([a-z_]+)`)
	routes := map[string]bool{}
	for _, rt := range r.Routes() {
		path := param.ReplaceAllString(rt.Path, "{$1}")
		method := strings.ToLower(rt.Method)
		routes[method+" "+path] = true
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("openapi.json does not describe %s %s", rt.Method, path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !routes[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which the router does not serve", method, path)
			}
		}
	}
}

func TestReadinessFailsWhileTheDatabaseIsDown(t *testing.T) {
	cfg, _ := config.Load(func(string) string { return "" })
	db := dbtest.SQLite(t)
	r := wiredRouter(t, cfg, db)
	probe := func() int {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code
	}
	if got := probe(); got != http.StatusOK {
		t.Fatalf("/readyz with the database up = %d, want 200", got)
	}
	if err := database.Close(db); err != nil {
		t.Fatal(err)
	}
	if got := probe(); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database closed = %d, want 503", got)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/healthz = %d while the database is down, want 200", w.Code)
	}
}

// wiredRouter assembles the service's router on db without serving it.
func wiredRouter(t *testing.T, cfg config.Config, db *gorm.DB) *gin.Engine {
	t.Helper()
	cfg.DataDir = t.TempDir()
	a, err := wire(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{}, "http://127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.scores.Close)
	r, err := a.router()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
