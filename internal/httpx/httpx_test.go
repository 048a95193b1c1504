package httpx

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rocketfin/rocketfin/internal/problem"
)

func newEngine(logs *bytes.Buffer) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(Observe(slog.New(slog.NewJSONHandler(logs, nil)), NewMetrics(prometheus.NewRegistry())))
	return r
}

func TestPanicAnswers500ProblemAndLogsTheStack(t *testing.T) {
	var logs bytes.Buffer
	r := newEngine(&logs)
	r.GET("/boom", func(*gin.Context) { panic("kaboom") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))

	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != ProblemContentType {
		t.Fatalf("status %d, type %q; want 500 problem+json", w.Code, w.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != "internal_error" || p.RequestID == "" {
		t.Fatalf("body %s", w.Body.String())
	}
	if strings.Contains(w.Body.String(), "kaboom") {
		t.Fatal("the panic value leaked to the client")
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), "httpx_test.go") {
		t.Fatalf("the log lacks the panic and its stack:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), p.RequestID) {
		t.Fatal("the panic log line lacks the request id")
	}
}

type sample struct {
	Name  string `json:"name"`
	Inner struct {
		Count int `json:"count"`
	} `json:"inner"`
}

func TestDecodeNamesTheFieldAtFault(t *testing.T) {
	cases := map[string]struct{ body, field string }{
		"unknown field":        {`{"name":"a","colour":"red"}`, "colour"},
		"wrong type":           {`{"name":1}`, "name"},
		"wrong nested type":    {`{"inner":{"count":"x"}}`, "inner.count"},
		"trailing data":        {`{"name":"a"}{}`, "body"},
		"truncated":            {`{"name":"a"`, "body"},
		"empty":                {``, "body"},
		"not an object":        {`[1,2]`, "body"},
		"fraction for integer": {`{"inner":{"count":1.5}}`, "inner.count"},
		"NUL character":        {`{"name":"a\u0000b"}`, "body"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var dst sample
			err := DecodeBytes([]byte(tc.body), &dst)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %q", err.Error(), tc.field)
			}
		})
	}
	var ok sample
	if err := DecodeBytes([]byte(` {"name":"a\\u0000","inner":{"count":2}} `), &ok); err != nil || ok.Inner.Count != 2 || ok.Name != `a\u0000` {
		t.Fatalf("a valid body failed: %v", err)
	}
}

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil","x")`: `'=HYPERLINK("http://evil","x")`, "+1+1": "'+1+1", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)",
		"\tcmd": "'\tcmd", "-150": "-150", "+3.5": "+3.5", "idem-1": "idem-1", "": "",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEvery429And503SaysWhenToRetry(t *testing.T) {
	var logs bytes.Buffer
	r := newEngine(&logs)
	for path, code := range map[string]problem.Code{"/429": problem.RateLimited, "/503": problem.Unavailable, "/core": problem.ScoringUnavailable} {
		r.GET(path, func(c *gin.Context) { Fail(c, problem.New(code, "busy")) })
	}
	r.GET("/own", func(c *gin.Context) {
		e := problem.New(problem.RateLimited, "later")
		e.RetryAfter = 30
		Fail(c, e)
	})
	for path, want := range map[string]string{"/429": "1", "/503": "1", "/core": "1", "/own": "30"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Header().Get("Retry-After"); got != want {
			t.Errorf("%s: Retry-After %q, want %q", path, got, want)
		}
	}
}
