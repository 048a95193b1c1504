package httpx

import (
	"log/slog"
	"net"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// ProblemContentType is the media type of every error body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is the body of an error response.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail"`
	Code      problem.Code         `json:"code"`
	RequestID string               `json:"request_id"`
	Errors    []problem.FieldError `json:"errors,omitempty"`
}

// Fail answers the request with err as problem+json and stops the chain.
// Domain errors show their detail; any other error is logged with the
// request id and shown only as a generic internal error.
func Fail(c *gin.Context, err error) {
	pe := problem.As(err)
	switch {
	case pe != nil:
	case database.IsUnavailable(err):
		// A database restarting or out of reach is not a fault of the request: retry shortly.
		Logger(c).WarnContext(c.Request.Context(), "database unavailable", slog.String("error", err.Error()))
		pe = problem.New(problem.Unavailable, "the database is unavailable or restarting; retry shortly (with the same Idempotency-Key, a retry never charges twice)")
		pe.RetryAfter = 1
	default:
		Logger(c).ErrorContext(c.Request.Context(), "request failed", slog.String("error", err.Error()))
		pe = problem.New(problem.Internal, "an internal error occurred; quote the request id to support")
	}
	if pe.RetryAfter <= 0 && (pe.Code == problem.RateLimited || pe.Code == problem.Unavailable || pe.Code == problem.ScoringUnavailable) {
		pe.RetryAfter = 1 // every 429 and 503 says when to come back
	}
	if pe.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(pe.RetryAfter))
	}
	if pe.Code == problem.Unauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="rocketfin"`)
	}
	status := pe.Code.Status()
	body := Problem{
		Type:      "https://docs.rocketfin.dev/errors/" + string(pe.Code),
		Title:     pe.Code.Title(),
		Status:    status,
		Detail:    pe.Detail,
		Code:      pe.Code,
		RequestID: RequestID(c),
		Errors:    pe.Fields,
	}
	c.Abort()
	c.Header("Content-Type", ProblemContentType)
	c.Status(status)
	writeJSON(c, body)
}

// JSON answers with status and v encoded as JSON.
func JSON(c *gin.Context, status int, v any) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(status)
	writeJSON(c, v)
}

// RawJSON writes an answer already encoded by Marshal; replayed marks the saved answer of an
// Idempotency-Key (header Idempotent-Replayed: true).
func RawJSON(c *gin.Context, status int, body []byte, replayed bool) {
	if replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

func writeJSON(c *gin.Context, v any) {
	b, err := Marshal(v)
	if err != nil {
		Logger(c).ErrorContext(c.Request.Context(), "encode response", slog.String("error", err.Error()))
		c.Writer.WriteHeaderNow()
		return
	}
	_, _ = c.Writer.Write(b)
}

// NotFoundHandler answers unknown routes with a problem.
func NotFoundHandler(c *gin.Context) {
	Fail(c, problem.New(problem.NotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
}

// LoopbackOnly lets through requests made straight from this machine (a loopback peer and no
// proxy header); others are answered as an unknown route.
func LoopbackOnly(c *gin.Context) {
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || !ip.IsLoopback() ||
		c.GetHeader("X-Forwarded-For") != "" || c.GetHeader("Forwarded") != "" || c.GetHeader("X-Real-Ip") != "" {
		NotFoundHandler(c)
		return
	}
	c.Next()
}

// MethodNotAllowedHandler answers a known path with the wrong method.
func MethodNotAllowedHandler(c *gin.Context) {
	Fail(c, problem.New(problem.MethodNotAllowed, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
}
