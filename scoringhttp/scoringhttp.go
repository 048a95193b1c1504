// Package scoringhttp carries the scoring core over HTTP: the server of
// `rocketfin scoring-core` (POST /v1/evaluate, GET /healthz, GET /metrics)
// and the client the scoring call (package scores) uses when the core runs as its own service.
package scoringhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/scoring"
)

// AsOfParam is the query parameter carrying the evaluation time (RFC 3339),
// so that a remote result is the one the in-process engine would give.
const AsOfParam = "as_of"

// Handler serves the engine alone, with no database.
func Handler(engine *scoring.Engine, log *slog.Logger, reg *prometheus.Registry) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(httpx.Observe(log, httpx.NewMetrics(reg)))
	r.NoRoute(httpx.NotFoundHandler)
	r.GET("/healthz", func(c *gin.Context) {
		httpx.JSON(c, http.StatusOK, gin.H{"status": "ok", "model_version": engine.Version()})
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	r.POST("/v1/evaluate", httpx.BodyLimit(scoring.MaxRequestBytes), func(c *gin.Context) {
		// The body of POST /v1/scores: metadata is accepted (and checked) but not the engine's.
		var body struct {
			scoring.Request
			Metadata metadata.Metadata `json:"metadata"`
		}
		if err := httpx.Decode(c, &body); err != nil {
			httpx.Fail(c, err)
			return
		}
		if err := body.Metadata.Validate("metadata"); err != nil {
			httpx.Fail(c, err)
			return
		}
		req := body.Request
		asOf := time.Now().UTC()
		if s := c.Query(AsOfParam); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				httpx.Fail(c, problem.Field(AsOfParam, "must be an RFC 3339 time"))
				return
			}
			asOf = t.UTC()
		}
		res, err := engine.Evaluate(&req, scoring.Options{Language: c.GetHeader("Accept-Language"), AsOf: asOf})
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		httpx.JSON(c, http.StatusOK, res)
	})
	return r
}

// Client calls a remote scoring core.
type Client struct {
	base    string
	http    *http.Client
	timeout time.Duration
}

// NewClient returns a client of the core at baseURL, giving up after timeout.
func NewClient(baseURL string, timeout time.Duration) *Client {
	return &Client{
		base:    strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Transport: telemetry.Transport(&http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second})},
		timeout: timeout,
	}
}

// Evaluate scores req remotely.
func (c *Client) Evaluate(ctx context.Context, req *scoring.Request, opt scoring.Options) (scoring.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return scoring.Result{}, fmt.Errorf("encode evaluation request: %w", err)
	}
	url := c.base + "/v1/evaluate?" + AsOfParam + "=" + opt.AsOf.UTC().Format(time.RFC3339Nano)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return scoring.Result{}, fmt.Errorf("build evaluation request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if opt.Language != "" {
		hreq.Header.Set("Accept-Language", opt.Language)
	}
	if id := httpx.RequestIDFrom(ctx); id != "" {
		hreq.Header.Set(httpx.RequestIDHeader, id)
	}
	res, err := c.http.Do(hreq)
	if err != nil {
		return scoring.Result{}, fmt.Errorf("call scoring core: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return scoring.Result{}, fmt.Errorf("read scoring core answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return scoring.Result{}, fmt.Errorf("scoring core answered %d: %.200s", res.StatusCode, raw)
	}
	var out scoring.Result
	if err := json.Unmarshal(raw, &out); err != nil {
		return scoring.Result{}, fmt.Errorf("decode scoring core answer: %w", err)
	}
	if out.ModelVersion == "" {
		return scoring.Result{}, fmt.Errorf("scoring core answer has no model_version")
	}
	return out, nil
}
