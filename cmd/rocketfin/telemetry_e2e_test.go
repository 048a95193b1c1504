package main

import (
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestAScoringCallIsTracedEndToEnd: with a tracer provider recording in memory, a live scoring call
// made with a W3C traceparent continues the caller's trace through a server span named by its route,
// the charging transaction and its SQL statements, and the remote scoring core (the trace context
// crosses to `rocketfin scoring-core`); the request's log line carries the trace id.
func TestAScoringCallIsTracedEndToEnd(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	core, _ := startCore(t)
	s := startServer(t, map[string]string{"ROCKETFIN_SCORING_URL": core})
	a := s.signup("trace@acme.example")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	exp.Reset()
	r := s.doWith("POST", "/v1/scores", a.Live, liveBody(1), map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"})
	expect(t, r, http.StatusOK)

	byName := map[string]tracetest.SpanStub{}
	coreServed := false
	for _, sp := range exp.GetSpans() {
		if sp.SpanContext.TraceID().String() != traceID {
			continue
		}
		if sp.SpanKind == trace.SpanKindServer && sp.Name != "POST /v1/scores" {
			coreServed = true // the scoring core's server span, in the caller's trace
		}
		if _, seen := byName[sp.Name]; !seen {
			byName[sp.Name] = sp
		}
	}
	server, ok := byName["POST /v1/scores"]
	if !ok || server.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("no server span continuing the caller's: %v", names(byName))
	}
	charge, ok := byName["scores.charge"]
	if !ok || charge.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Fatalf("no charging transaction span under the request: %v", names(byName))
	}
	if _, ok := byName["scoring.evaluate"]; !ok {
		t.Fatalf("no scoring core span: %v", names(byName))
	}
	if !coreServed {
		t.Fatalf("the remote core's span is not in the caller's trace: %v", names(byName))
	}
	db := 0
	for name := range byName {
		if strings.HasPrefix(name, "db.") {
			db++
		}
	}
	if db == 0 {
		t.Fatalf("no SQL statement spans: %v", names(byName))
	}
	var line string
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, `"route":"/v1/scores"`) {
			line = l
		}
	}
	if !strings.Contains(line, `"trace_id":"`+traceID+`"`) {
		t.Fatalf("the request's log line lacks the trace id: %s", line)
	}
}

func names(m map[string]tracetest.SpanStub) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	return out
}
