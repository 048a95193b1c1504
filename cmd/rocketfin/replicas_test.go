package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/oidctest"
	"github.com/rocketfin/rocketfin/internal/runner"
	"github.com/rocketfin/rocketfin/internal/testenv"
)

// haproxyBin finds HAProxy: ROCKETFIN_TEST_HAPROXY (scripts/test installs it), else PATH; without
// it the test is skipped, except where the suite must be complete.
func haproxyBin(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "ROCKETFIN_TEST_HAPROXY", "haproxy")
}

// balancer runs HAProxy in front of the given replicas (round robin, health-checked on /readyz,
// retrying a request whose connection failed on another replica).
func balancer(t *testing.T, replicas []*childServer) string {
	t.Helper()
	bin := haproxyBin(t)
	addr := oidctest.FreeAddr(t)
	var servers strings.Builder
	for i, r := range replicas {
		fmt.Fprintf(&servers, "  server r%d %s check inter 300ms fall 1 rise 1\n", i+1, strings.TrimPrefix(r.base, "http://"))
	}
	cfg := fmt.Sprintf(`global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
  retry-on conn-failure empty-response
frontend api
  bind %s
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
%s`, addr, servers.String())
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not serve within 10 s:\n%s", out.String())
		}
	}
}

// TestThreeReplicasBehindABalancerKeepEveryInvariant: three `rocketfin serve` processes on one
// PostgreSQL, behind HAProxy: 300 concurrent live calls against 5 trial credits charge exactly 5;
// one Idempotency-Key sent to every replica at once charges once; a key revoked on one replica is
// refused by the others within a second; the shared rate limit holds across replicas.
func TestThreeReplicasBehindABalancerKeepEveryInvariant(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three replicas")
	}
	haproxyBin(t)
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	env := []string{"ROCKETFIN_RATE_LIMIT_STORE=postgres", "ROCKETFIN_DB_MAX_CONNS=12", "ROCKETFIN_LOG_LEVEL=warn",
		"ROCKETFIN_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))}
	var replicas []*childServer
	for range 3 {
		replicas = append(replicas, startChild(t, bin, dbURL, env...))
	}
	lb := balancer(t, replicas)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	call := func(base, method, path, key string, body any, header map[string]string) response {
		return send(t, client, base, method, path, key, body, header)
	}
	signup := func(email string) (tenant, sandboxKey, liveKey string) {
		r := call(lb, "POST", "/v1/signup", "", map[string]string{"company_name": "Replica " + email, "email": email, "country": "FR"}, nil)
		expect(t, r, http.StatusCreated)
		for _, k := range r.Body["api_keys"].([]any) {
			m := k.(map[string]any)
			if m["environment"] == "live" {
				liveKey = m["secret"].(string)
			} else {
				sandboxKey = m["secret"].(string)
			}
		}
		tenant = r.str("tenant", "id")
		expect(t, call(lb, "PATCH", "/admin/v1/tenants/"+tenant, operatorToken, map[string]any{"rate_limit": map[string]any{"per_second": 100000, "burst": 100000}}, nil), http.StatusOK)
		return tenant, sandboxKey, liveKey
	}

	// 300 concurrent live calls, 5 credits: exactly 5 answered 200, 5 decisions, 5 usage events.
	// race sends 300 concurrent live calls through the balancer and counts 200s and 402s.
	race := func(live string, first int) (ok, refused int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 300 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := call(lb, "POST", "/v1/scores", live, liveBody(first+i), nil)
				mu.Lock()
				defer mu.Unlock()
				switch r.Status {
				case http.StatusOK:
					ok++
				case http.StatusPaymentRequired:
					refused++
				default:
					t.Errorf("call %d: %d %s", i, r.Status, r.Raw)
				}
			}()
		}
		wg.Wait()
		return ok, refused
	}
	tenant, _, live := signup("credits@replicas.example")
	ok, refused := race(live, 1000)
	decisions, usage, _ := counts(t, dbURL, tenant, "live")
	if ok != 5 || refused != 295 || decisions != 5 || usage != 5 {
		t.Fatalf("%d answered, %d refused, %d decisions, %d usage events; want 5, 295, 5, 5", ok, refused, decisions, usage)
	}

	// The same against a monthly cap with room for 7 analyses, the calls grouped in each replica's
	// charging transactions: exactly 7 charged, the month's spend at the cap to the unit.
	capped, _, liveCapped := signup("cap@replicas.example")
	expect(t, call(lb, "PATCH", "/admin/v1/tenants/"+capped, operatorToken, map[string]any{"status": "active"}, nil), http.StatusOK)
	expect(t, call(lb, "PATCH", "/v1/tenant", liveCapped, map[string]any{"monthly_cap": map[string]any{"amount": 7 * 150, "currency": "EUR"}}, nil), http.StatusOK)
	time.Sleep(1100 * time.Millisecond) // every replica re-reads the account
	ok, refused = race(liveCapped, 2000)
	decisions, usage, _ = counts(t, dbURL, capped, "live")
	spent := monthlySpend(t, dbURL, capped)
	if ok != 7 || refused != 293 || decisions != 7 || usage != 7 || spent != 7*150 {
		t.Fatalf("cap of 7: %d answered, %d refused, %d decisions, %d usage events, spend %d", ok, refused, decisions, usage, spent)
	}

	// One Idempotency-Key on every replica at once: one charge, one answer.
	tenant2, _, live2 := signup("idem@replicas.example")
	ids := make(chan string, 30)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(replicas[i%3].base, "POST", "/v1/scores", live2, liveBody(7), map[string]string{"Idempotency-Key": "order-42"})
			if r.Status == http.StatusOK {
				ids <- r.str("id")
			} else if r.Status != http.StatusConflict { // a concurrent duplicate still in flight
				t.Errorf("idempotent call: %d %s", r.Status, r.Raw)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	decisions, usage, _ = counts(t, dbURL, tenant2, "live")
	if len(seen) != 1 || decisions != 1 || usage != 1 {
		t.Fatalf("one Idempotency-Key made %d answers, %d decisions, %d usage events", len(seen), decisions, usage)
	}

	// A key revoked on one replica is refused by the others within a second.
	_, sandbox3, _ := signup("revoke@replicas.example")
	k := call(replicas[0].base, "POST", "/v1/keys", sandbox3, map[string]string{"name": "short-lived"}, nil)
	expect(t, k, http.StatusCreated)
	for _, r := range replicas[1:] {
		expect(t, call(r.base, "GET", "/v1/tenant", k.str("secret"), nil, nil), http.StatusOK) // cached there
	}
	expect(t, call(replicas[0].base, "DELETE", "/v1/keys/"+k.str("id"), sandbox3, nil, nil), http.StatusOK)
	revoked := time.Now()
	for _, r := range replicas[1:] {
		for {
			if call(r.base, "GET", "/v1/tenant", k.str("secret"), nil, nil).Status == http.StatusUnauthorized {
				break
			}
			if time.Since(revoked) > time.Second {
				t.Fatalf("%s still accepts the revoked key %s after revocation", r.base, time.Since(revoked))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if waited := time.Since(revoked); waited > 1500*time.Millisecond {
		t.Fatalf("revocation took %s to reach every replica", waited)
	}

	// The shared rate limit: a burst of 5 at 1 per second holds across the three replicas.
	tenant4, sandbox4, _ := signup("limit@replicas.example")
	expect(t, call(lb, "PATCH", "/admin/v1/tenants/"+tenant4, operatorToken, map[string]any{"rate_limit": map[string]any{"per_second": 1, "burst": 5}}, nil), http.StatusOK)
	time.Sleep(1100 * time.Millisecond) // the tenant's cached limit expires on every replica
	start := time.Now()
	var passed atomic.Int32
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(replicas[i%3].base, "POST", "/v1/scores", sandbox4, map[string]any{"company": map[string]any{"id": "999000011"}}, nil)
			if r.Status == http.StatusOK {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	allowed := 5 + int32(time.Since(start).Seconds()+1)
	if n := passed.Load(); n < 5 || n > allowed {
		t.Fatalf("%d of 30 calls passed a shared burst of 5 (at most %d with the refill)", n, allowed)
	}
}

// stop sends SIGTERM and waits for the graceful shutdown to end.
func (s *childServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Fatalf("replica stopped with %v\n%s", s.err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("replica did not stop within 30 s of SIGTERM")
	}
}

// TestARollingRestartLosesNoAnsweredCall: under a steady load of live calls through HAProxy, each
// of three replicas in turn gets SIGTERM and is started again; every call is answered 200 (the
// balancer retries a connection the stopping replica refused), and every 200 is one decision and
// one usage event — none lost, none doubled.
func TestARollingRestartLosesNoAnsweredCall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and restarts three replicas")
	}
	haproxyBin(t)
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	env := []string{"ROCKETFIN_DB_MAX_CONNS=12", "ROCKETFIN_LOG_LEVEL=warn", "ROCKETFIN_SHUTDOWN_TIMEOUT=10s",
		"ROCKETFIN_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{6}, 32))}
	addrs := []string{oidctest.FreeAddr(t), oidctest.FreeAddr(t), oidctest.FreeAddr(t)}
	replicas := make([]*childServer, 3)
	for i, a := range addrs {
		replicas[i] = startChild(t, bin, dbURL, append(env, "ROCKETFIN_ADDR="+a)...)
	}
	lb := balancer(t, replicas)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	r := send(t, client, lb, "POST", "/v1/signup", "", map[string]string{"company_name": "Rolling", "email": "roll@replicas.example", "country": "FR"}, nil)
	expect(t, r, http.StatusCreated)
	tenant := r.str("tenant", "id")
	var live string
	for _, k := range r.Body["api_keys"].([]any) {
		if m := k.(map[string]any); m["environment"] == "live" {
			live = m["secret"].(string)
		}
	}
	expect(t, send(t, client, lb, "PATCH", "/admin/v1/tenants/"+tenant, operatorToken,
		map[string]any{"status": "active", "rate_limit": map[string]any{"per_second": 100000, "burst": 100000}}, nil), http.StatusOK)

	type result struct {
		status  int
		scoreID string
		took    time.Duration
	}
	var (
		mu      sync.Mutex
		results []result
		seq     atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := seq.Add(1)
				start := time.Now()
				req, _ := http.NewRequest("POST", lb+"/v1/scores", bytes.NewReader(mustJSON(liveBody(int(100000+n)))))
				req.Header.Set("Authorization", "Bearer "+live)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("roll-%d", n))
				res, err := client.Do(req)
				out := result{took: time.Since(start)}
				if err == nil {
					var body struct {
						ID string `json:"id"`
					}
					_ = jsonDecode(res, &body)
					out.status, out.scoreID = res.StatusCode, body.ID
				}
				mu.Lock()
				results = append(results, out)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // a steady load, not a flood
			}
		}()
	}
	time.Sleep(time.Second)
	for i := range replicas {
		replicas[i].stop(t)
		replicas[i] = startChild(t, bin, dbURL, append(env, "ROCKETFIN_ADDR="+addrs[i])...)
		time.Sleep(time.Second) // the balancer sees it healthy again before the next one stops
	}
	stop.Store(true)
	wg.Wait()

	ok, failed := 0, 0
	ids := map[string]int{}
	var lat []time.Duration
	for _, res := range results {
		lat = append(lat, res.took)
		if res.status == http.StatusOK {
			ok++
			ids[res.scoreID]++
		} else {
			failed++
		}
	}
	decisions, usage, _ := counts(t, dbURL, tenant, "live")
	slices.Sort(lat)
	t.Logf("rolling restart: %d requests, %d answered 200, %d failed, p99 %s, max %s", len(results), ok, failed,
		lat[len(lat)*99/100], lat[len(lat)-1])
	if failed != 0 {
		t.Errorf("%d requests failed during the roll", failed)
	}
	for id, n := range ids {
		if n != 1 || id == "" {
			t.Errorf("score %q answered %d times", id, n)
		}
	}
	if int(decisions) != ok || int(usage) != ok {
		t.Errorf("%d calls answered 200 but %d decisions and %d usage events", ok, decisions, usage)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func jsonDecode(res *http.Response, dst any) error {
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(dst)
}

// TestThreeWorkerProcessesReportEachUsageEventOnce: an API that leaves background work to workers
// records 1,000 metered live calls; three `rocketfin worker` processes then race for the outbox and
// report each usage event to Stripe (stripe-mock, through the recording proxy) exactly once.
func TestThreeWorkerProcessesReportEachUsageEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three workers")
	}
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	secret := "ROCKETFIN_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
	env := billingEnv(proxy, "50ms")
	env["ROCKETFIN_BACKGROUND_JOBS"] = "false"
	env["ROCKETFIN_SECRET_KEY"] = strings.TrimPrefix(secret, "ROCKETFIN_SECRET_KEY=")
	s := startServer(t, env)
	a := s.signup("workers@replicas.example")
	s.unlimit(a.TenantID)
	db := openDB(t, env["DATABASE_URL"])
	if err := db.Create(&billing.Account{TenantID: a.TenantID, StripeCustomerID: "cus_workers", CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	s.statusChanged()
	const calls = 1000
	runner.Parallel(calls, 16, func(i int) {
		if r := s.do("POST", "/v1/scores", a.Live, liveBody(i)); r.Status != http.StatusOK {
			t.Errorf("call %d: %d %s", i, r.Status, r.Raw)
		}
	})
	if n := pendingOutbox(t, db, a.TenantID); n != calls {
		t.Fatalf("%d usage events wait for Stripe, want %d (the API must not report them itself)", n, calls)
	}

	bin := buildRocketfin(t)
	for range 3 {
		cmd := exec.Command(bin, "worker")
		cmd.Dir = t.TempDir()
		cmd.Env = []string{"DATABASE_URL=" + env["DATABASE_URL"], "STRIPE_SECRET_KEY=sk_test_e2e", "STRIPE_API_BASE=" + proxy.URL,
			"ROCKETFIN_BILLING_INTERVAL=50ms", "ROCKETFIN_LOG_LEVEL=warn", secret, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("worker log:\n%s", out.String())
			}
		})
	}
	for deadline := time.Now().Add(90 * time.Second); pendingOutbox(t, db, a.TenantID) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d usage events still wait after 90 s", pendingOutbox(t, db, a.TenantID))
		}
	}
	count := map[string]int{}
	for _, id := range proxy.MeterEventIdentifiers() {
		count[id]++
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("identifier %s sent %d times", id, n)
		}
	}
	if len(count) != calls {
		t.Fatalf("%d identifiers reported, want %d", len(count), calls)
	}
}
