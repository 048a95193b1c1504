package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/runner"
)

// BenchmarkMonitoringDeliveryLag puts ROCKETFIN_BENCH_MONITORS live companies under watch (default
// 1,000), changes the data of all of them at once (64 concurrent clients), and measures, for each
// change, the time from sending the new data to the first delivery attempt of its score.updated
// event at a loopback receiver. It reports the p50, p99 and maximum (the target: p99 under 1 s).
//
//	go test ./cmd/rocketfin -run '^$' -bench MonitoringDeliveryLag -benchtime 1x
func BenchmarkMonitoringDeliveryLag(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("ROCKETFIN_BENCH_MONITORS")); err == nil && v > 0 {
		n = v
	}
	env := map[string]string{}
	if v := os.Getenv("ROCKETFIN_BENCH_DB_MAX_CONNS"); v != "" {
		env["ROCKETFIN_DB_MAX_CONNS"] = v
	}
	s := startServer(b, env)
	a := s.signup("lag@bench.example")
	s.unlimit(a.TenantID)
	expect(b, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)

	var mu sync.Mutex
	arrived := map[string]time.Time{}
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		mu.Lock()
		if _, seen := arrived[r.Header.Get("webhook-id")]; !seen {
			arrived[r.Header.Get("webhook-id")] = now
		}
		mu.Unlock()
	}))
	defer rec.Close()
	expect(b, s.do("POST", "/v1/webhook-endpoints", a.Live, map[string]any{"url": rec.URL, "events": []string{"score.updated"}}), http.StatusCreated)

	monitors := make([]string, n)
	runner.Parallel(n, 16, func(i int) {
		body := monitorBody(i)
		r := s.do("POST", "/v1/monitors", a.Live, body)
		expect(b, r, http.StatusCreated)
		monitors[i] = r.str("id")
	})

	b.ResetTimer()
	for range b.N {
		sent := make([]time.Time, n)
		answered := make([]time.Time, n)
		events := make([]string, n)
		phase := time.Now()
		clients := 64
		if v, err := strconv.Atoi(os.Getenv("ROCKETFIN_BENCH_CLIENTS")); err == nil && v > 0 {
			clients = v
		}
		runner.Parallel(n, clients, func(i int) {
			sent[i] = time.Now()
			defer func() { answered[i] = time.Now() }()
			r := s.do("POST", "/v1/monitors/"+monitors[i]+"/data", a.Live, map[string]any{"payments": map[string]any{"days_beyond_terms_avg": 5 + b.N}})
			expect(b, r, http.StatusOK)
			for _, e := range r.Body["events"].([]any) {
				if m := e.(map[string]any); m["type"] == "score.updated" {
					events[i] = m["id"].(string)
				}
			}
		})
		changes := time.Since(phase)
		var lags, afterAnswer []time.Duration
		deadline := time.Now().Add(60 * time.Second)
		for len(lags) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			lags, afterAnswer = lags[:0], afterAnswer[:0]
			mu.Lock()
			for i, id := range events {
				if at, ok := arrived[id]; ok {
					lags = append(lags, at.Sub(sent[i]))
					afterAnswer = append(afterAnswer, max(0, at.Sub(answered[i])))
				}
			}
			mu.Unlock()
		}
		if len(lags) < n {
			b.Fatalf("%d of %d events delivered within a minute", len(lags), n)
		}
		slices.Sort(lags)
		slices.Sort(afterAnswer)
		p := func(q float64) time.Duration { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
		pa := func(q float64) time.Duration {
			return afterAnswer[min(len(afterAnswer)-1, int(q*float64(len(afterAnswer))))]
		}
		b.ReportMetric(float64(p(0.50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lags[len(lags)-1].Milliseconds()), "max-ms")
		fmt.Fprintf(os.Stderr, "%d changes at once (sent in %s): from sending the change to the first delivery attempt p50 %s, p99 %s, max %s; from its answer p50 %s, p99 %s\n",
			n, changes.Round(time.Millisecond), p(0.50), p(0.99), lags[len(lags)-1], pa(0.50), pa(0.99))
	}
}
