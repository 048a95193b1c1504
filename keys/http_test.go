package keys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/keys"
)

// BenchmarkMiddlewareWarm measures one authenticated request through the
// middleware with a warm cache (parse, checksum, hash, cache lookup) and
// reports the median and 99th percentile of single requests.
func BenchmarkMiddlewareWarm(b *testing.B) {
	db := dbtest.Postgres(b)
	ctx := context.Background()
	svc := keys.NewService(db, clock.System{}, keys.Options{})
	insertTenant(b, db, "ten_bench")
	issued, err := svc.Create(ctx, keys.Principal{TenantID: "ten_bench", Environment: keys.Live}, keys.CreateInput{})
	if err != nil {
		b.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/v1/tenant", keys.Middleware(svc, keys.Others{}), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest("GET", "/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+issued.Secret)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent {
		b.Fatalf("warm-up answered %d", w.Code)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		start := time.Now()
		r.ServeHTTP(w, req)
		samples = append(samples, time.Since(start))
		if w.Code != http.StatusNoContent {
			b.Fatalf("request %d answered %d", i, w.Code)
		}
	}
	b.StopTimer()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}
