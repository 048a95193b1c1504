// Package loadtest drives a running RocketFin server with concurrent
// scoring calls and reports throughput and latency percentiles, then runs
// pgbench on the same SQL transaction as a live call so that the service's
// overhead over its database is measured in one run. It starts nothing: it
// signs up a tenant, lifts that tenant's rate limit and makes it a metered
// (active) account through the operator API, and calls the server.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options say what to run.
type Options struct {
	BaseURL       string
	OperatorToken string
	// Clients drives the paced phase and the warm-up.
	Clients int
	// Sweep lists the concurrencies of the full-speed phases (and pgbench).
	Sweep    []int
	Duration time.Duration
	// Rate is the request rate of the paced live phase (0 skips it).
	Rate float64
	// DatabaseURL is where pgbench runs; empty skips pgbench.
	DatabaseURL string
	// Pgbench is the pgbench binary.
	Pgbench string
}

// Result is one phase's figures.
type Result struct {
	Name      string
	Clients   int
	Seconds   float64
	Requests  int
	OK        int
	Failed    int
	PerSecond float64
	P50, P90  time.Duration
	P99, Max  time.Duration
	Statuses  map[int]int
}

type tenant struct {
	ID, Live, Sandbox string
}

// Run executes every phase and prints a report.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.OperatorToken == "" {
		return errors.New("ROCKETFIN_OPERATOR_TOKEN is needed to lift the test tenant's rate limit")
	}
	if len(o.Sweep) == 0 {
		o.Sweep = []int{o.Clients}
	}
	most := o.Clients
	for _, n := range o.Sweep {
		most = max(most, n)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: most * 2, MaxIdleConnsPerHost: most * 2, IdleConnTimeout: time.Minute,
	}}
	t, err := setup(ctx, client, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "RocketFin load test against %s, tenant %s (active, metered), %s a phase\n\n", o.BaseURL, t.ID, o.Duration)
	live := liveBody()
	sandbox, err := sandboxBody(ctx, client, o.BaseURL, t.Sandbox)
	if err != nil {
		return err
	}
	// warm up connections, caches and the database
	drive(ctx, client, o.BaseURL, t.Live, live, o.Clients, 2*time.Second, 0, "warm-up")

	var results []Result
	if o.Rate > 0 {
		results = append(results, drive(ctx, client, o.BaseURL, t.Live, live, o.Clients, o.Duration, o.Rate, fmt.Sprintf("live @%g/s", o.Rate)))
	}
	// Peak throughput: each concurrency of the sweep, pgbench on the same
	// transaction right after the live phase of the same concurrency.
	type pair struct {
		clients  int
		live, pg float64
	}
	var pairs []pair
	var script string
	if o.DatabaseURL != "" {
		if script, err = LiveCallScript(ctx, o.DatabaseURL, t.ID); err != nil {
			fmt.Fprintf(out, "pgbench: %v\n", err)
			o.DatabaseURL = ""
		}
	}
	for _, n := range o.Sweep {
		r := drive(ctx, client, o.BaseURL, t.Live, live, n, o.Duration, 0, "live max")
		results = append(results, r)
		if o.DatabaseURL != "" {
			pg, err := runPgbench(ctx, o, n, t.ID, script)
			if err != nil {
				fmt.Fprintf(out, "pgbench: %v\n", err)
				o.DatabaseURL = ""
			} else {
				pairs = append(pairs, pair{clients: n, live: r.PerSecond, pg: pg.TPS})
			}
		}
	}
	for _, n := range o.Sweep {
		results = append(results, drive(ctx, client, o.BaseURL, t.Sandbox, sandbox, n, o.Duration, 0, "sandbox max"))
	}
	fmt.Fprintf(out, "%-14s %7s %8s %9s %8s %7s %9s %8s %8s %8s %8s\n", "phase", "clients", "seconds", "requests", "ok", "failed", "req/s", "p50", "p90", "p99", "max")
	for _, r := range results {
		fmt.Fprintf(out, "%-14s %7d %8.1f %9d %8d %7d %9.0f %8s %8s %8s %8s\n", r.Name, r.Clients, r.Seconds, r.Requests, r.OK, r.Failed,
			r.PerSecond, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
		if r.Failed > 0 {
			fmt.Fprintf(out, "  statuses: %v\n", r.Statuses)
		}
	}
	if rss, err := residentMemory(ctx, client, o.BaseURL); err == nil {
		fmt.Fprintf(out, "\nserver resident memory after the load: %.0f MB\n", rss/1e6)
	}
	if len(pairs) > 0 {
		fmt.Fprintf(out, "\n%-8s %12s %12s %7s\n", "clients", "live req/s", "pgbench tps", "ratio")
		var peakLive, peakPG float64
		for _, p := range pairs {
			fmt.Fprintf(out, "%-8d %12.0f %12.0f %6.0f%%\n", p.clients, p.live, p.pg, 100*p.live/p.pg)
			peakLive, peakPG = max(peakLive, p.live), max(peakPG, p.pg)
		}
		fmt.Fprintf(out, "peak live throughput / peak pgbench tps on the same transaction: %.0f / %.0f = %.0f%%\n", peakLive, peakPG, 100*peakLive/peakPG)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func setup(ctx context.Context, c *http.Client, o Options) (tenant, error) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	email := "loadtest+" + hex.EncodeToString(suffix) + "@example.com"
	var signup struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
		APIKeys []struct {
			Environment string `json:"environment"`
			Secret      string `json:"secret"`
		} `json:"api_keys"`
	}
	if err := call(ctx, c, "POST", o.BaseURL+"/v1/signup", "", map[string]string{"company_name": "Load test " + hex.EncodeToString(suffix), "email": email, "country": "FR"}, &signup); err != nil {
		return tenant{}, fmt.Errorf("sign up the test tenant: %w", err)
	}
	t := tenant{ID: signup.Tenant.ID}
	for _, k := range signup.APIKeys {
		if k.Environment == "live" {
			t.Live = k.Secret
		} else {
			t.Sandbox = k.Secret
		}
	}
	patch := map[string]any{"status": "active", "email_verified": true, "rate_limit": map[string]any{"per_second": 100000, "burst": 1000000}}
	if err := call(ctx, c, "PATCH", o.BaseURL+"/admin/v1/tenants/"+t.ID, o.OperatorToken, patch, nil); err != nil {
		return tenant{}, fmt.Errorf("lift the test tenant's limits: %w", err)
	}
	// the server caches tenants for a second
	time.Sleep(1100 * time.Millisecond)
	return t, nil
}

func call(ctx context.Context, c *http.Client, method, url, token string, body, dst any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s answered %d: %s", method, url, res.StatusCode, raw)
	}
	if dst != nil {
		return json.Unmarshal(raw, dst)
	}
	return nil
}

// liveBody is a complete live request: statements, payments, credit need.
func liveBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"company": map[string]any{"id": "FR-LOAD-1", "id_type": "other", "name": "Load SAS", "country": "FR", "nace": "46.90", "legal_form": "SAS", "incorporated_on": "2012-03-01"},
		"financials": []map[string]any{
			{"period_end": "2025-12-31", "currency": "EUR", "total_assets": 1_200_000, "current_assets": 700_000, "cash": 90_000,
				"receivables": 300_000, "inventory": 200_000, "total_liabilities": 700_000, "current_liabilities": 400_000,
				"equity": 500_000, "retained_earnings": 300_000, "revenue": 2_400_000, "ebit": 180_000, "net_income": 120_000,
				"interest_expense": 15_000, "depreciation": 40_000},
			{"period_end": "2024-12-31", "currency": "EUR", "total_assets": 1_100_000, "revenue": 2_200_000, "net_income": 90_000, "equity": 420_000, "total_liabilities": 680_000},
		},
		"payments": map[string]any{"days_beyond_terms_avg": 3, "incidents_12m": 0, "late_invoice_ratio": 0.05},
		"request":  map[string]any{"amount": 50_000, "currency": "EUR", "terms_days": 60},
	})
	return b
}

func sandboxBody(ctx context.Context, c *http.Client, base, key string) ([]byte, error) {
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/sandbox/companies", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list sandbox companies: %w", err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Data) == 0 {
		return nil, fmt.Errorf("list sandbox companies: %v", err)
	}
	return json.Marshal(map[string]any{"company": map[string]any{"id": list.Data[0].ID}})
}

// drive sends POST /v1/scores from clients workers for d, paced at rate
// requests a second when rate > 0, as fast as answers come otherwise.
func drive(ctx context.Context, c *http.Client, base, key string, body []byte, clients int, d time.Duration, rate float64, name string) Result {
	// Issuing stops at the deadline; requests in flight then finish, so that
	// a phase never cancels calls under the next one's feet.
	deadline := time.Now().Add(d)
	var (
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, 1<<16)
		statuses = map[int]int{}
	)
	var tickets chan struct{}
	if rate > 0 {
		tickets = make(chan struct{}, clients)
		go func() {
			interval := time.Duration(float64(time.Second) / rate)
			next := time.Now()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				next = next.Add(interval)
				time.Sleep(time.Until(next))
				select {
				case tickets <- struct{}{}:
				default: // every client busy: the server is behind; the miss shows in the count
				}
			}
			close(tickets)
		}()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localStatus := map[int]int{}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if tickets != nil {
					if _, ok := <-tickets; !ok {
						break
					}
				}
				t0 := time.Now()
				status := post(ctx, c, base, key, body)
				local = append(local, time.Since(t0))
				localStatus[status]++
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range localStatus {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Result{Name: name, Clients: clients, Seconds: elapsed, Requests: len(lat), OK: statuses[200], Statuses: statuses}
	r.Failed = r.Requests - r.OK
	r.PerSecond = float64(r.OK) / elapsed
	if n := len(lat); n > 0 {
		pick := func(q float64) time.Duration { return lat[int(math.Min(float64(n-1), math.Floor(q*float64(n))))] }
		r.P50, r.P90, r.P99, r.Max = pick(0.50), pick(0.90), pick(0.99), lat[n-1]
	}
	return r
}

func post(ctx context.Context, c *http.Client, base, key string, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/scores", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func residentMemory(ctx context.Context, c *http.Client, base string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "process_resident_memory_bytes ") {
			var v float64
			_, err := fmt.Sscanf(strings.TrimPrefix(line, "process_resident_memory_bytes "), "%g", &v)
			return v, err
		}
	}
	return 0, errors.New("no process_resident_memory_bytes in /metrics")
}
