// Package loadtest drives running RocketFin servers with concurrent scoring calls and reports
// throughput and latency percentiles beside pgbench on the same SQL transaction as a live call, so
// that the service's overhead over its database is measured in one run. It starts nothing: it
// signs up tenants, makes them metered with a monthly cap (so that every live call spends from
// its tenant's row of the month) and one a trial with many credits (every call spends from its
// tenant's row), lifts their rate limits through the operator API, then calls each target (one
// replica alone, a load balancer in front of several) in turn, round after round, and reports
// the spread of the rounds.
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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is a server to call: one replica, or a balancer in front of several.
type Target struct {
	Name, URL string
}

// Options say what to run.
type Options struct {
	// Targets are called in turn; the first also serves the setup and the paced phase.
	Targets       []Target
	OperatorToken string
	// Clients is the concurrency of the full-speed phases.
	Clients int
	// PgbenchClients is pgbench's (Clients when 0): a server reaches the database through a pool
	// smaller than its clients, and pgbench does best near that many connections.
	PgbenchClients int
	// Tenants is how many tenants the many-tenant phases spread their calls over (client i calls
	// as tenant i mod Tenants); the one-tenant phases use one more, alone.
	Tenants int
	// Rounds repeats every full-speed phase, pgbench included, to show the spread.
	Rounds   int
	Duration time.Duration
	// Rate is the request rate of the paced live phase (0 skips it), with PacedClients clients.
	Rate         float64
	PacedClients int
	// DatabaseURL is where pgbench runs; empty skips pgbench.
	DatabaseURL string
	// Pgbench is the pgbench binary.
	Pgbench string
	// Currency is the servers' billing currency, the monthly cap's.
	Currency string
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

// capAmount is the load tenants' monthly cap, in minor units: far above what a run spends, so
// that every call is charged and spends from the month's row.
const capAmount = 100_000_000_000

// Run executes every phase and prints a report.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.OperatorToken == "" {
		return errors.New("ROCKETFIN_OPERATOR_TOKEN is needed to lift the test tenants' rate limits")
	}
	if len(o.Targets) == 0 || o.Clients < 1 || o.Tenants < 1 || o.Rounds < 1 {
		return errors.New("loadtest: a target, and at least one client, tenant and round, are needed")
	}
	if o.PgbenchClients < 1 {
		o.PgbenchClients = o.Clients
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Clients * 4, MaxIdleConnsPerHost: o.Clients * 2, IdleConnTimeout: time.Minute,
	}}
	base := o.Targets[0].URL
	many := make([]tenant, o.Tenants)
	for i := range many {
		t, err := setup(ctx, client, base, o.OperatorToken, o.Currency)
		if err != nil {
			return err
		}
		many[i] = t
	}
	busy, err := setup(ctx, client, base, o.OperatorToken, o.Currency)
	if err != nil {
		return err
	}
	trial, err := setupTrial(ctx, client, base, o.OperatorToken)
	if err != nil {
		return err
	}
	// the servers cache tenants for a second
	time.Sleep(1100 * time.Millisecond)
	var manyLive, manySandbox []string
	for _, t := range many {
		manyLive, manySandbox = append(manyLive, t.Live), append(manySandbox, t.Sandbox)
	}
	names := make([]string, len(o.Targets))
	for i, t := range o.Targets {
		names[i] = t.Name + " " + t.URL
	}
	fmt.Fprintf(out, "RocketFin load test: %s; %d clients (pgbench %d), %d tenants (and a busy capped one, a busy trial), %s a phase, %d rounds\n\n",
		strings.Join(names, ", "), o.Clients, o.PgbenchClients, o.Tenants, o.Duration, o.Rounds)
	live := liveBody()
	sandbox, err := sandboxBody(ctx, client, base, many[0].Sandbox)
	if err != nil {
		return err
	}
	for _, t := range o.Targets { // warm up connections, caches and the database
		drive(ctx, client, t.URL, manyLive, live, o.Clients, 2*time.Second, 0, "warm-up")
	}
	var scripts []string
	var busyScript, trialScript string
	if o.DatabaseURL != "" {
		if scripts, busyScript, trialScript, err = pgbenchScripts(ctx, o.DatabaseURL, many, busy, trial); err != nil {
			fmt.Fprintf(out, "pgbench: %v\n", err)
			o.DatabaseURL = ""
		}
	}

	var results []Result
	if o.Rate > 0 {
		results = append(results, drive(ctx, client, base, manyLive, live, max(1, o.PacedClients), o.Duration, o.Rate,
			fmt.Sprintf("%s live @%g/s", o.Targets[0].Name, o.Rate)))
	}
	rounds := map[string][]float64{}
	p99s := map[string][]time.Duration{}
	var order []string
	record := func(name string, perSecond float64, p99 time.Duration) {
		if _, ok := rounds[name]; !ok {
			order = append(order, name)
		}
		rounds[name] = append(rounds[name], perSecond)
		p99s[name] = append(p99s[name], p99)
	}
	pgbench := func(name string, scripts []string) {
		if o.DatabaseURL == "" {
			return
		}
		r, err := runPgbench(ctx, o, o.PgbenchClients, scripts)
		if err != nil {
			fmt.Fprintf(out, "pgbench: %v\n", err)
			o.DatabaseURL = ""
			return
		}
		results = append(results, Result{Name: name, Clients: o.PgbenchClients, Seconds: o.Duration.Seconds(), PerSecond: r.TPS})
		record(name, r.TPS, 0)
	}
	phase := func(name string, t Target, keys []string, body []byte) {
		r := drive(ctx, client, t.URL, keys, body, o.Clients, o.Duration, 0, t.Name+" "+name)
		results = append(results, r)
		record(r.Name, r.PerSecond, r.P99)
	}
	for range o.Rounds {
		pgbench("pgbench, many tenants", scripts)
		for _, t := range o.Targets {
			phase("live, many tenants", t, manyLive, live)
		}
		pgbench("pgbench, one tenant row", []string{busyScript})
		for _, t := range o.Targets {
			phase("live, one tenant", t, []string{busy.Live}, live)
		}
		pgbench("pgbench, one trial row", []string{trialScript})
		for _, t := range o.Targets {
			phase("live, one trial tenant", t, []string{trial.Live}, live)
		}
		for _, t := range o.Targets {
			phase("sandbox", t, manySandbox, sandbox)
		}
	}

	fmt.Fprintf(out, "%-34s %7s %8s %9s %8s %7s %9s %8s %8s %8s %8s\n", "phase", "clients", "seconds", "requests", "ok", "failed", "req/s", "p50", "p90", "p99", "max")
	for _, r := range results {
		fmt.Fprintf(out, "%-34s %7d %8.1f %9d %8d %7d %9.0f %8s %8s %8s %8s\n", r.Name, r.Clients, r.Seconds, r.Requests, r.OK, r.Failed,
			r.PerSecond, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
		if r.Failed > 0 {
			fmt.Fprintf(out, "  statuses: %v\n", r.Statuses)
		}
	}
	fmt.Fprintf(out, "\nacross %d rounds (median, min–max):\n%-34s %22s %22s\n", o.Rounds, "phase", "req/s (tps)", "p99")
	for _, name := range order {
		v, l := rounds[name], p99s[name]
		p99 := "-"
		if l[0] > 0 {
			p99 = fmt.Sprintf("%s (%s–%s)", ms(median(l)), ms(slices.Min(l)), ms(slices.Max(l)))
		}
		fmt.Fprintf(out, "%-34s %22s %22s\n", name, fmt.Sprintf("%.0f (%.0f–%.0f)", median(v), slices.Min(v), slices.Max(v)), p99)
	}
	if o.DatabaseURL != "" {
		fmt.Fprintf(out, "\nthroughput / pgbench on the same transaction, round by round:\n")
		for _, t := range o.Targets {
			for _, pair := range [][2]string{{"live, many tenants", "pgbench, many tenants"}, {"live, one tenant", "pgbench, one tenant row"},
				{"live, one trial tenant", "pgbench, one trial row"}} {
				live, pg := rounds[t.Name+" "+pair[0]], rounds[pair[1]]
				var ratios []string
				for i := range min(len(live), len(pg)) {
					ratios = append(ratios, fmt.Sprintf("%.0f%%", 100*live[i]/pg[i]))
				}
				fmt.Fprintf(out, "%-34s %s\n", t.Name+" "+pair[0], strings.Join(ratios, " "))
			}
		}
	}
	for _, t := range o.Targets {
		if rss, err := residentMemory(ctx, client, t.URL); err == nil {
			fmt.Fprintf(out, "\n%s: resident memory after the load %.0f MB", t.Name, rss/1e6)
		}
	}
	fmt.Fprintln(out)
	return nil
}

// median of a non-empty list.
func median[T int64 | float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// signup signs up a tenant and returns its keys.
func signup(ctx context.Context, c *http.Client, base string) (tenant, error) {
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
	if err := call(ctx, c, "POST", base+"/v1/signup", "", map[string]string{"company_name": "Load test " + hex.EncodeToString(suffix), "email": email, "country": "FR"}, &signup); err != nil {
		return tenant{}, fmt.Errorf("sign up a test tenant: %w", err)
	}
	t := tenant{ID: signup.Tenant.ID}
	for _, k := range signup.APIKeys {
		if k.Environment == "live" {
			t.Live = k.Secret
		} else {
			t.Sandbox = k.Secret
		}
	}
	return t, nil
}

// setup signs up a tenant and makes it a metered tenant with a monthly cap and no rate limit to
// speak of.
func setup(ctx context.Context, c *http.Client, base, operatorToken, currency string) (tenant, error) {
	t, err := signup(ctx, c, base)
	if err != nil {
		return tenant{}, err
	}
	patch := map[string]any{"status": "active", "email_verified": true, "rate_limit": map[string]any{"per_second": 100000, "burst": 1000000}}
	if err := call(ctx, c, "PATCH", base+"/admin/v1/tenants/"+t.ID, operatorToken, patch, nil); err != nil {
		return tenant{}, fmt.Errorf("lift the limits of %s: %w", t.ID, err)
	}
	if err := call(ctx, c, "PATCH", base+"/v1/tenant", t.Live, map[string]any{"monthly_cap": map[string]any{"amount": capAmount, "currency": currency}}, nil); err != nil {
		return tenant{}, fmt.Errorf("set the monthly cap of %s: %w", t.ID, err)
	}
	return t, nil
}

// setupTrial signs up a tenant left in its trial with a billion credits and no rate limit to speak
// of: every live call spends from its row of the tenants table.
func setupTrial(ctx context.Context, c *http.Client, base, operatorToken string) (tenant, error) {
	t, err := signup(ctx, c, base)
	if err != nil {
		return tenant{}, err
	}
	patch := map[string]any{"email_verified": true, "credits_remaining": 1_000_000_000, "rate_limit": map[string]any{"per_second": 100000, "burst": 1000000}}
	if err := call(ctx, c, "PATCH", base+"/admin/v1/tenants/"+t.ID, operatorToken, patch, nil); err != nil {
		return tenant{}, fmt.Errorf("grant credits to %s: %w", t.ID, err)
	}
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

// drive sends POST /v1/scores from clients workers for d, client i with keys[i mod len(keys)],
// paced at rate requests a second when rate > 0, as fast as answers come otherwise.
func drive(ctx context.Context, c *http.Client, base string, keys []string, body []byte, clients int, d time.Duration, rate float64, name string) Result {
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
		key := keys[i%len(keys)]
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
