// Package telemetry traces RocketFin with OpenTelemetry: one span per HTTP request (named by its
// route), spans for the charging transaction and every SQL statement, for the scoring core (in
// process, or remote with the trace context propagated to `rocketfin scoring-core`) and for each
// Stripe call. Export is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; then spans go over OTLP/HTTP and the standard OTEL_*
// settings apply (service name, resource attributes, sampler, headers). Log lines of a traced
// request carry its trace_id and span_id.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
)

// Name is the instrumentation scope of RocketFin's spans.
const Name = "github.com/rocketfin/rocketfin"

// Tracer is RocketFin's tracer (a no-op one until Setup installs a provider).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Setup installs the OTLP exporter when getenv names an endpoint, and the W3C trace context
// propagator in any case; shutdown flushes what is buffered.
func Setup(ctx context.Context, getenv func(string) string, service string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx) // reads the OTEL_EXPORTER_OTLP_* settings
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Gin starts a server span for each request, continuing the caller's trace, named by the route
// ("POST /v1/scores"); a 5xx marks it failed.
func Gin() gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx := otel.GetTextMapPropagator().Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		ctx, span := Tracer().Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}

// Transport traces the requests of an HTTP client (Stripe, the remote scoring core) and carries the
// trace context in their headers.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base)
}

// Handler continues the caller's trace in a plain net/http server (the scoring core).
func Handler(h http.Handler, operation string) http.Handler { return otelhttp.NewHandler(h, operation) }

// IDs are the trace and span ids of ctx's span, empty when it is not traced.
func IDs(ctx context.Context) (traceID, spanID string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// Span starts an internal span; end it with End(err).
func Span(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, Ended) {
	ctx, s := Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, Ended{span: s} // a value: no allocation on the scoring call's path
}

// Ended closes a span, marking it failed with err.
type Ended struct{ span trace.Span }

// End ends the span; a non-nil err marks it failed.
func (e Ended) End(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		e.span.RecordError(err)
		e.span.SetStatus(codes.Error, err.Error())
	}
	e.span.End()
}

// GORM traces every statement of db ("db.query", "db.create", …) as a child of its context's span.
func GORM(db *gorm.DB) error {
	type key struct{}
	system := database.System(db)
	start := func(op string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			if tx.Statement.Context == nil || !trace.SpanContextFromContext(tx.Statement.Context).IsValid() {
				return // no trace to join: statements of background work without a span are not traced
			}
			ctx, span := Tracer().Start(tx.Statement.Context, "db."+op, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String("db.system", system), attribute.String("db.sql.table", tx.Statement.Table)))
			tx.Statement.Context = context.WithValue(ctx, key{}, span)
		}
	}
	end := func(tx *gorm.DB) {
		span, ok := tx.Statement.Context.Value(key{}).(trace.Span)
		if !ok {
			return
		}
		if tx.Error != nil && !errors.Is(tx.Error, gorm.ErrRecordNotFound) {
			span.RecordError(tx.Error)
			span.SetStatus(codes.Error, tx.Error.Error())
		}
		span.SetAttributes(attribute.Int64("db.rows_affected", tx.RowsAffected))
		span.End()
	}
	cb := db.Callback()
	pairs := []struct {
		op            string
		before, after func(name string, fn func(*gorm.DB)) error
	}{
		{"create", func(n string, f func(*gorm.DB)) error { return cb.Create().Before("gorm:create").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Create().After("gorm:create").Register(n, f) }},
		{"query", func(n string, f func(*gorm.DB)) error { return cb.Query().Before("gorm:query").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Query().After("gorm:query").Register(n, f) }},
		{"update", func(n string, f func(*gorm.DB)) error { return cb.Update().Before("gorm:update").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Update().After("gorm:update").Register(n, f) }},
		{"delete", func(n string, f func(*gorm.DB)) error { return cb.Delete().Before("gorm:delete").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Delete().After("gorm:delete").Register(n, f) }},
		{"raw", func(n string, f func(*gorm.DB)) error { return cb.Raw().Before("gorm:raw").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Raw().After("gorm:raw").Register(n, f) }},
		{"row", func(n string, f func(*gorm.DB)) error { return cb.Row().Before("gorm:row").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Row().After("gorm:row").Register(n, f) }},
	}
	for _, p := range pairs {
		if err := p.before("telemetry:before_"+p.op, start(p.op)); err != nil {
			return fmt.Errorf("trace %s statements: %w", p.op, err)
		}
		if err := p.after("telemetry:after_"+p.op, end); err != nil {
			return fmt.Errorf("trace %s statements: %w", p.op, err)
		}
	}
	return nil
}
