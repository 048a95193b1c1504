package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/telemetry"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

type ctxKey int

const (
	loggerKey ctxKey = iota
	requestIDKey
	clientIPKey
)

// RequestID returns the id of the request being served.
func RequestID(c *gin.Context) string {
	if id, ok := c.Request.Context().Value(requestIDKey).(string); ok {
		return id
	}
	return ""
}

// ClientIPFrom returns the client address of the request ctx serves, if any.
func ClientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)
	return ip
}

// RequestIDFrom returns the request id carried by ctx, if any.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request's logger, which adds the request id to every line.
func Logger(c *gin.Context) *slog.Logger { return LoggerFrom(c.Request.Context()) }

// LoggerFrom returns the logger carried by ctx, or the default logger.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x21 || ch > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// Observe is the outermost middleware: it assigns the request id (always ours: a client's
// well-formed X-Request-Id is logged beside it as client_request_id, never taken as ours, so that
// records and support quote ids we made), puts a request-scoped logger in the context, recovers from panics with a 500 problem and the stack in the log,
// records Prometheus metrics by route and status, and logs one line per
// request.
func Observe(base *slog.Logger, m *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := newRequestID()
		c.Header(RequestIDHeader, id)
		log := base.With(slog.String("request_id", id))
		if theirs := c.GetHeader(RequestIDHeader); validRequestID(theirs) {
			log = log.With(slog.String("client_request_id", theirs))
		}
		if traceID, spanID := telemetry.IDs(c.Request.Context()); traceID != "" {
			log = log.With(slog.String("trace_id", traceID), slog.String("span_id", spanID))
		}
		ctx := context.WithValue(c.Request.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, clientIPKey, c.ClientIP())
		ctx = context.WithValue(ctx, loggerKey, log)
		c.Request = c.Request.WithContext(ctx)

		defer func() {
			if rec := recover(); rec != nil {
				log.ErrorContext(ctx, "panic while serving request",
					slog.String("panic", fmt.Sprint(rec)), slog.String("stack", string(debug.Stack())))
				if !c.Writer.Written() {
					Fail(c, problem.New(problem.Internal, "an internal error occurred; quote the request id to support"))
				}
			}
			route := c.FullPath()
			if route == "" {
				route = "unmatched"
			}
			status := c.Writer.Status()
			elapsed := time.Since(start)
			if m != nil {
				m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Inc()
				m.latency.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(elapsed.Seconds())
			}
			if !log.Enabled(ctx, slog.LevelInfo) {
				return
			}
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", c.Request.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("duration_us", elapsed.Microseconds()),
				slog.String("client_ip", c.ClientIP()),
			)
		}()
		c.Next()
	}
}

// Metrics holds the request counters of one server, registered in its own
// registry so that several servers can live in one process (as in tests).
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rocketfin_http_requests_total",
			Help: "HTTP requests served, by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rocketfin_http_request_duration_seconds",
			Help:    "HTTP request latency, by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// SecurityHeaders sets on every answer X-Content-Type-Options: nosniff and Cache-Control:
// no-store (answers may hold secrets, such as signup's and key creation's, and none is meant to be
// cached), and, when the server itself terminates TLS, Strict-Transport-Security for a year.
func SecurityHeaders(tls bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}
