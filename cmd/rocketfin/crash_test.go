package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/metering"
)

// The crash test runs the real binary as a child process, so that SIGKILL
// ends it exactly as an out-of-memory kill or a power cut would: no
// deferred function, no graceful shutdown, transactions cut wherever they
// are.

const (
	crashClients     = 16
	crashPerClient   = 200              // bound on the requests of one client
	crashTarget      = 150              // 200s to see before the kill
	crashLoadTimeout = 20 * time.Second // kill anyway after this long
	crashCredits     = 100_000
)

// buildRocketfin compiles ./cmd/rocketfin from the module root into a
// temporary folder.
func buildRocketfin(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the server with: %v", err)
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD names no module (%q)", gomod)
	}
	bin := filepath.Join(t.TempDir(), "rocketfin")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/rocketfin")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rocketfin: %v\n%s", err, out)
	}
	return bin
}

// listenWatcher is the child's stdout: it hands over the URL of the
// "RocketFin is listening on URL" line once.
type listenWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	sent  bool
	ready chan string
}

func (w *listenWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		const marker = "RocketFin is listening on "
		s := w.buf.String()
		if i := strings.Index(s, marker); i >= 0 {
			rest := s[i+len(marker):]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				w.sent = true
				w.ready <- strings.TrimSpace(rest[:j])
			}
		}
	}
	return len(p), nil
}

// childServer is `rocketfin serve` running as a separate process.
type childServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan struct{} // closed once the process is reaped
	err    error         // what Wait returned, once done is closed
}

// startChild runs the binary on dbURL, with extra environment lines, and waits until it is ready.
func startChild(t *testing.T, bin, dbURL string, extra ...string) *childServer {
	t.Helper()
	s := &childServer{t: t, stderr: &syncBuffer{}, done: make(chan struct{})}
	stdout := &listenWatcher{ready: make(chan string, 1)}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = []string{
		"DATABASE_URL=" + dbURL,
		"ROCKETFIN_ADDR=127.0.0.1:0",
		"ROCKETFIN_OPERATOR_TOKEN=" + operatorToken,
		"ROCKETFIN_EMAIL_VERIFICATION=off",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
	s.cmd.Env = append(s.cmd.Env, extra...)
	s.cmd.Stdout = stdout
	s.cmd.Stderr = s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)

	select {
	case s.base = <-stdout.ready:
	case <-s.done:
		t.Fatalf("server exited before listening: %v\nstderr:\n%s", s.err, s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not print its URL within 60s\nstderr:\n%s", s.stderr.String())
	}
	if !strings.HasPrefix(s.base, "http://127.0.0.1:") {
		t.Fatalf("server listens on %q, want a loopback http URL", s.base)
	}
	s.waitReady()
	return s
}

// waitReady polls /readyz until it answers 200 or a deadline passes.
func (s *childServer) waitReady() {
	s.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := client.Get(s.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s/readyz not 200 within 20s (last error %v)\nstderr:\n%s", s.base, err, s.stderr.String())
		}
		select {
		case <-s.done:
			s.t.Fatalf("server exited while starting: %v\nstderr:\n%s", s.err, s.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL (if the process still runs) and reaps it.
func (s *childServer) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("server process %d not reaped 10s after SIGKILL", s.cmd.Process.Pid)
	}
}

// call sends one request to the child and decodes a JSON answer.
func (s *childServer) call(client *http.Client, method, path, token string, body any, header map[string]string) response {
	s.t.Helper()
	return send(s.t, client, s.base, method, path, token, body, header)
}

// crashTenant is one of the two tenants under load.
type crashTenant struct {
	name    string
	id      string
	live    string
	metered bool // status active: a pending charge and an outbox row per call
}

// crashCall is one POST /v1/scores of the load and what came of it.
type crashCall struct {
	tenant  int
	client  int
	company string // unique per request: FR-LIVE-<seq>
	body    []byte
	key     string // Idempotency-Key, or empty
	status  int    // 0: no complete answer (unknown outcome)
	resp    []byte
	scoreID string
	err     error
	// afterKill: the call ended once the test had begun killing the server.
	afterKill bool
}

func TestKilledServerLosesNoChargeAndInventsNone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	srv := startChild(t, bin, dbURL)
	admin := &http.Client{Timeout: 10 * time.Second}

	// One trial tenant paying with credits, one metered (active) tenant
	// whose calls each owe an outbox row; both effectively unlimited.
	tenants := []crashTenant{{name: "trial"}, {name: "metered", metered: true}}
	for i := range tenants {
		tn := &tenants[i]
		r := srv.call(admin, "POST", "/v1/signup", "", map[string]string{
			"company_name": "Crash " + tn.name, "email": tn.name + "@crash.example", "country": "FR"}, nil)
		expect(t, r, http.StatusCreated)
		tn.id = r.str("tenant", "id")
		for _, k := range r.Body["api_keys"].([]any) {
			if m := k.(map[string]any); m["environment"] == "live" {
				tn.live, _ = m["secret"].(string)
			}
		}
		if tn.id == "" || tn.live == "" {
			t.Fatalf("signup answer lacks tenant or live key: %s", r.Raw)
		}
		patch := map[string]any{"rate_limit": map[string]any{"per_second": 100000, "burst": 100000}}
		if tn.metered {
			patch["status"] = "active"
		} else {
			patch["credits_remaining"] = crashCredits
		}
		r = srv.call(admin, "PATCH", "/admin/v1/tenants/"+tn.id, operatorToken, patch, nil)
		expect(t, r, http.StatusOK)
		if tn.metered {
			// a cap far above the load: every call spends from the month's row, in groups
			r = srv.call(admin, "PATCH", "/v1/tenant", tn.live, map[string]any{"monthly_cap": map[string]any{"amount": 1_000_000_000, "currency": "EUR"}}, nil)
			expect(t, r, http.StatusOK)
		}
	}

	// The load: 16 clients, client c on tenant c%2, clients 0-7 with a
	// fresh Idempotency-Key per request, 8-15 without.
	loadClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: crashClients * 2, MaxIdleConnsPerHost: crashClients * 2, IdleConnTimeout: 30 * time.Second}}
	defer loadClient.CloseIdleConnections()
	var (
		mu       sync.Mutex
		calls    []*crashCall
		oks      atomic.Int64
		inflight atomic.Int64
		killing  atomic.Bool
		enough   = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
	)
	loadDeadline := time.Now().Add(crashLoadTimeout + 10*time.Second) // the kill comes first
	for c := 0; c < crashClients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			tn := tenants[c%len(tenants)]
			for n := 0; n < crashPerClient && !killing.Load() && time.Now().Before(loadDeadline); n++ {
				seq := c*1000 + n
				call := &crashCall{tenant: c % len(tenants), client: c, company: fmt.Sprintf("FR-LIVE-%d", seq)}
				call.body, _ = json.Marshal(liveBody(seq))
				if c < crashClients/2 {
					call.key = fmt.Sprintf("crash-%d-%d", c, n)
				}
				inflight.Add(1)
				postScore(loadClient, srv.base, tn.live, call)
				inflight.Add(-1)
				call.afterKill = killing.Load()
				mu.Lock()
				calls = append(calls, call)
				mu.Unlock()
				if call.status == http.StatusOK && oks.Add(1) >= crashTarget {
					once.Do(func() { close(enough) })
				}
				if call.err != nil && killing.Load() {
					return
				}
			}
		}(c)
	}
	select {
	case <-enough:
	case <-time.After(crashLoadTimeout):
	}
	// The calls of each tenant shared charging transactions (group commit): the path under test.
	metrics := string(srv.call(admin, "GET", "/metrics", "", nil, nil).Raw)
	groups, grouped := metricSum(metrics, "rocketfin_charge_group_size_count"), metricSum(metrics, "rocketfin_charge_group_size_sum")
	killing.Store(true)
	inflightAtKill := inflight.Load()
	srv.kill()
	t.Logf("before the kill: %g charging transactions took %g calls", groups, grouped)
	if groups == 0 || grouped <= groups {
		t.Errorf("no charging transaction took more than one call (%g transactions, %g calls)", groups, grouped)
	}
	wg.Wait()
	loadClient.CloseIdleConnections()

	// What the clients saw.
	var seen200, unknown int
	perTenant := make([]struct{ ok, unknown int }, len(tenants))
	byCompany := map[string]*crashCall{}
	for _, call := range calls {
		if byCompany[call.company] != nil {
			t.Fatalf("company %s sent twice by the test", call.company)
		}
		byCompany[call.company] = call
		switch {
		case call.status == http.StatusOK:
			seen200++
			perTenant[call.tenant].ok++
		case call.status != 0:
			t.Errorf("client %d got %d for %s (key %q): %s", call.client, call.status, call.company, call.key, call.resp)
		default:
			unknown++
			perTenant[call.tenant].unknown++
			if !call.afterKill {
				t.Errorf("client %d: %s failed before the kill: %v", call.client, call.company, call.err)
			}
		}
	}
	t.Logf("load: %d requests, %d × 200, %d in flight at SIGKILL, %d without a complete answer (trial %d/%d, metered %d/%d ok/unknown)",
		len(calls), seen200, inflightAtKill, unknown, perTenant[0].ok, perTenant[0].unknown, perTenant[1].ok, perTenant[1].unknown)
	if seen200 == 0 {
		t.Fatalf("no 200 before the kill; server stderr:\n%s", srv.stderr.String())
	}
	if t.Failed() {
		t.FailNow()
	}

	// Restart on the same database: it must come back ready.
	srv = startChild(t, bin, dbURL)

	st := readCrashState(t, dbURL, tenants)
	checkCrashState(t, st, tenants, calls, byCompany)
	if t.Failed() {
		t.FailNow()
	}

	// A replay after the restart of a key that got a 200 before the kill
	// answers the same body and charges nothing.
	client := &http.Client{Timeout: 10 * time.Second}
	replayed := 0
	for ti := range tenants {
		for _, call := range calls {
			if call.tenant != ti || call.status != http.StatusOK || call.key == "" {
				continue
			}
			r := srv.call(client, "POST", "/v1/scores", tenants[ti].live, json.RawMessage(call.body), map[string]string{"Idempotency-Key": call.key})
			expect(t, r, http.StatusOK)
			if r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("replay of %q after restart: Idempotent-Replayed %q, want true", call.key, r.Header.Get("Idempotent-Replayed"))
			}
			if !bytes.Equal(r.Raw, call.resp) {
				t.Errorf("replay of %q after restart answers\n%s\nbefore the kill it answered\n%s", call.key, r.Raw, call.resp)
			}
			replayed++
			break
		}
	}
	if replayed == 0 {
		t.Log("no keyed call got a 200 before the kill; nothing to replay")
	}
	after := readCrashState(t, dbURL, tenants)
	for ti := range tenants {
		if len(after.usage[ti]) != len(st.usage[ti]) || len(after.decisions[ti]) != len(st.decisions[ti]) {
			t.Errorf("%s: replays charged: usage events %d → %d, decisions %d → %d", tenants[ti].name,
				len(st.usage[ti]), len(after.usage[ti]), len(st.decisions[ti]), len(after.decisions[ti]))
		}
	}
	if after.credits != st.credits {
		t.Errorf("replays spent credits: %d → %d", st.credits, after.credits)
	}

	// A client that did not learn the outcome retries with its key: it
	// gets exactly one charge whichever way the kill fell.
	retried, committed := 0, 0
	for _, call := range calls {
		if call.status != 0 || call.key == "" {
			continue
		}
		tn := tenants[call.tenant]
		before := st.usageByKey(call.tenant, call.key)
		r := srv.call(client, "POST", "/v1/scores", tn.live, json.RawMessage(call.body), map[string]string{"Idempotency-Key": call.key})
		expect(t, r, http.StatusOK)
		replay := r.Header.Get("Idempotent-Replayed") == "true"
		if before != nil {
			committed++
			if !replay || r.str("id") != before.ScoreID {
				t.Errorf("retry of %q committed before the kill as %s: replayed=%v id %s", call.key, before.ScoreID, replay, r.str("id"))
			}
		} else if replay {
			t.Errorf("retry of %q replays an answer the database did not hold before", call.key)
		}
		retried++
	}
	final := readCrashState(t, dbURL, tenants)
	for _, call := range calls {
		if call.status != 0 || call.key == "" {
			continue
		}
		if n := final.countByKey(call.tenant, call.key); n != 1 {
			t.Errorf("key %q: %d usage events after retry, want 1", call.key, n)
		}
	}
	checkLedger(t, final, tenants)
	t.Logf("after restart: %d replays of answered keys charged nothing; %d unknown keyed calls retried (%d had committed before the kill)",
		replayed, retried, committed)
}

// postScore sends one live call and records its outcome.
func postScore(client *http.Client, base, secret string, call *crashCall) {
	req, err := http.NewRequest("POST", base+"/v1/scores", bytes.NewReader(call.body))
	if err != nil {
		call.err = err
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	if call.key != "" {
		req.Header.Set("Idempotency-Key", call.key)
	}
	res, err := client.Do(req)
	if err != nil {
		call.err = err
		return
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		// Headers without a whole body: the outcome is unknown.
		call.err = fmt.Errorf("status %d, body cut: %w", res.StatusCode, err)
		return
	}
	call.status, call.resp = res.StatusCode, raw
	if res.StatusCode == http.StatusOK {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
			call.err = fmt.Errorf("200 without a score id: %s", raw)
			call.status = -1
			return
		}
		call.scoreID = v.ID
	}
}

type crashDecision struct {
	ID          string
	TenantID    string
	Environment string
	CompanyID   string
}

type crashUsage struct {
	ID             string
	TenantID       string
	Environment    string
	ScoreID        string
	IdempotencyKey string
	BillingState   string
	Amount         int64
}

type crashOutbox struct {
	ID           string
	TenantID     string
	Topic        string
	UsageEventID *string
}

type crashIdem struct {
	TenantID    string
	Environment string
	Key         string
	Status      int
	Response    string
	ScoreID     string
}

// crashState is what the database holds for the two tenants.
type crashState struct {
	decisions [][]crashDecision // by tenant index
	usage     [][]crashUsage
	outbox    [][]crashOutbox
	idem      [][]crashIdem
	credits   int64 // of the trial tenant
	spent     int64 // this month, of the metered tenant (whose monthly cap every call spends from)
}

func (s crashState) usageByKey(tenant int, key string) *crashUsage {
	for i, u := range s.usage[tenant] {
		if u.IdempotencyKey == key {
			return &s.usage[tenant][i]
		}
	}
	return nil
}

func (s crashState) countByKey(tenant int, key string) int {
	n := 0
	for _, u := range s.usage[tenant] {
		if u.IdempotencyKey == key {
			n++
		}
	}
	return n
}

func readCrashState(t *testing.T, dbURL string, tenants []crashTenant) crashState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := database.Open(ctx, database.Options{URL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("open the database to check it: %v", err)
	}
	defer database.Close(db)
	db = db.WithContext(ctx)
	n := len(tenants)
	st := crashState{decisions: make([][]crashDecision, n), usage: make([][]crashUsage, n),
		outbox: make([][]crashOutbox, n), idem: make([][]crashIdem, n)}
	for i, tn := range tenants {
		if err := db.Raw(`SELECT id, tenant_id, environment, company_id FROM decisions WHERE tenant_id = ? ORDER BY id`, tn.id).
			Scan(&st.decisions[i]).Error; err != nil {
			t.Fatalf("read decisions: %v", err)
		}
		if err := db.Raw(`SELECT id, tenant_id, environment, score_id, idempotency_key, billing_state, amount
			FROM usage_events WHERE tenant_id = ? ORDER BY id`, tn.id).Scan(&st.usage[i]).Error; err != nil {
			t.Fatalf("read usage events: %v", err)
		}
		if err := db.Raw(`SELECT id, tenant_id, topic, usage_event_id FROM outbox WHERE tenant_id = ? ORDER BY id`, tn.id).
			Scan(&st.outbox[i]).Error; err != nil {
			t.Fatalf("read outbox: %v", err)
		}
		if err := db.Raw(`SELECT tenant_id, environment, key, status, response, score_id FROM idempotency_keys WHERE tenant_id = ? ORDER BY key`, tn.id).
			Scan(&st.idem[i]).Error; err != nil {
			t.Fatalf("read idempotency keys: %v", err)
		}
		if !tn.metered {
			if err := db.Raw(`SELECT credits_remaining FROM tenants WHERE id = ?`, tn.id).Scan(&st.credits).Error; err != nil {
				t.Fatalf("read credits: %v", err)
			}
		} else if err := db.Raw(`SELECT COALESCE(SUM(amount), 0) FROM monthly_spend WHERE tenant_id = ?`, tn.id).Scan(&st.spent).Error; err != nil {
			t.Fatalf("read the monthly spend: %v", err)
		}
	}
	// Rows of no tenant under test would be invented ones too.
	var strays int64
	if err := db.Raw(`SELECT count(*) FROM usage_events u LEFT JOIN decisions d ON d.id = u.score_id
		WHERE d.id IS NULL OR d.tenant_id <> u.tenant_id OR d.environment <> u.environment`).Scan(&strays).Error; err != nil {
		t.Fatalf("count usage events without their decision: %v", err)
	}
	if strays != 0 {
		t.Errorf("%d usage events without their decision record", strays)
	}
	return st
}

// checkLedger checks what must hold of the database at any time: one usage
// event per decision and back, credits spent = trial events, one outbox row
// per metered event, no half-claimed idempotency key.
func checkLedger(t *testing.T, st crashState, tenants []crashTenant) {
	t.Helper()
	for ti, tn := range tenants {
		decisions := map[string]crashDecision{}
		for _, d := range st.decisions[ti] {
			decisions[d.ID] = d
			if d.Environment != "live" {
				t.Errorf("%s: decision %s in environment %s", tn.name, d.ID, d.Environment)
			}
		}
		events := map[string]int{} // usage events per score id
		usageIDs := map[string]bool{}
		for _, u := range st.usage[ti] {
			usageIDs[u.ID] = true
			events[u.ScoreID]++
			if _, ok := decisions[u.ScoreID]; !ok {
				t.Errorf("%s: usage event %s has no decision record %s", tn.name, u.ID, u.ScoreID)
			}
			wantState := metering.StateTrialCredit
			if tn.metered {
				wantState = metering.StatePending
			}
			if u.Environment != "live" || u.BillingState != wantState {
				t.Errorf("%s: usage event %s is %s/%s, want live/%s", tn.name, u.ID, u.Environment, u.BillingState, wantState)
			}
			if tn.metered && u.Amount <= 0 {
				t.Errorf("%s: metered usage event %s has amount %d", tn.name, u.ID, u.Amount)
			}
		}
		for id := range decisions {
			if events[id] != 1 {
				t.Errorf("%s: decision %s has %d usage events, want 1", tn.name, id, events[id])
			}
		}
		if len(st.decisions[ti]) != len(st.usage[ti]) {
			t.Errorf("%s: %d decisions but %d usage events", tn.name, len(st.decisions[ti]), len(st.usage[ti]))
		}
		outbox := map[string]int{}
		for _, o := range st.outbox[ti] {
			if o.UsageEventID == nil || !usageIDs[*o.UsageEventID] || o.Topic != metering.TopicMeterEvent {
				t.Errorf("%s: outbox row %s (topic %s) reports no usage event of the tenant", tn.name, o.ID, o.Topic)
				continue
			}
			outbox[*o.UsageEventID]++
		}
		if tn.metered {
			var charged int64
			for _, u := range st.usage[ti] {
				if outbox[u.ID] != 1 {
					t.Errorf("%s: usage event %s has %d outbox rows, want 1", tn.name, u.ID, outbox[u.ID])
				}
				charged += u.Amount
			}
			if st.spent != charged {
				t.Errorf("%s: monthly spend %d, but its usage events charged %d", tn.name, st.spent, charged)
			}
		} else {
			if len(st.outbox[ti]) != 0 {
				t.Errorf("%s: %d outbox rows for trial calls, want 0", tn.name, len(st.outbox[ti]))
			}
			if want := crashCredits - int64(len(st.usage[ti])); st.credits != want {
				t.Errorf("%s: credits_remaining %d after %d charged calls, want %d", tn.name, st.credits, len(st.usage[ti]), want)
			}
		}
		for _, k := range st.idem[ti] {
			if k.Status != http.StatusOK || k.Response == "" {
				t.Errorf("%s: idempotency key %q left claimed without an answer (status %d)", tn.name, k.Key, k.Status)
			}
			if _, ok := decisions[k.ScoreID]; !ok {
				t.Errorf("%s: idempotency key %q names score %s that has no decision", tn.name, k.Key, k.ScoreID)
			}
		}
	}
}

// checkCrashState compares the database after the crash with what the
// clients saw: every 200 is there exactly once, and every record belongs to
// a request that was sent and whose outcome the client did not learn.
func checkCrashState(t *testing.T, st crashState, tenants []crashTenant, calls []*crashCall, byCompany map[string]*crashCall) {
	t.Helper()
	checkLedger(t, st, tenants)
	for ti, tn := range tenants {
		decisions := map[string]crashDecision{}
		for _, d := range st.decisions[ti] {
			decisions[d.ID] = d
		}
		usageByScore := map[string][]crashUsage{}
		for _, u := range st.usage[ti] {
			usageByScore[u.ScoreID] = append(usageByScore[u.ScoreID], u)
		}
		idem := map[string]crashIdem{}
		for _, k := range st.idem[ti] {
			idem[k.Key] = k
		}
		for _, call := range calls {
			if call.tenant != ti || call.status != http.StatusOK {
				continue
			}
			d, ok := decisions[call.scoreID]
			if !ok {
				t.Errorf("%s: 200 %s (%s, key %q) has no decision record: a lost charge", tn.name, call.scoreID, call.company, call.key)
				continue
			}
			if d.CompanyID != call.company {
				t.Errorf("%s: decision %s is for %s, the 200 was for %s", tn.name, d.ID, d.CompanyID, call.company)
			}
			evs := usageByScore[call.scoreID]
			if len(evs) != 1 {
				t.Errorf("%s: 200 %s has %d usage events, want 1", tn.name, call.scoreID, len(evs))
				continue
			}
			wantKey := call.key
			if wantKey == "" {
				wantKey = call.scoreID
			}
			if evs[0].IdempotencyKey != wantKey {
				t.Errorf("%s: usage event of %s has idempotency key %q, want %q", tn.name, call.scoreID, evs[0].IdempotencyKey, wantKey)
			}
			if call.key != "" {
				k, ok := idem[call.key]
				if !ok || k.ScoreID != call.scoreID || k.Response != string(call.resp) {
					t.Errorf("%s: idempotency key %q of 200 %s is not stored with that answer (found=%v score %s)", tn.name, call.key, call.scoreID, ok, k.ScoreID)
				}
			}
		}
		// Nothing invented: each decision is for a company the test sent
		// to this tenant, once, and either the client saw that very 200 or
		// never learnt the outcome.
		for _, d := range st.decisions[ti] {
			call := byCompany[d.CompanyID]
			switch {
			case call == nil || call.tenant != ti:
				t.Errorf("%s: decision %s for %s matches no request sent to this tenant", tn.name, d.ID, d.CompanyID)
			case call.status == http.StatusOK && call.scoreID != d.ID:
				t.Errorf("%s: decision %s for %s, but the client's 200 was %s", tn.name, d.ID, d.CompanyID, call.scoreID)
			case call.status != http.StatusOK && call.status != 0:
				t.Errorf("%s: decision %s for %s, which was answered %d", tn.name, d.ID, d.CompanyID, call.status)
			}
		}
		companies := map[string]int{}
		for _, d := range st.decisions[ti] {
			companies[d.CompanyID]++
		}
		for c, n := range companies {
			if n != 1 {
				t.Errorf("%s: %d decisions for %s, sent once", tn.name, n, c)
			}
		}
		extra := len(st.decisions[ti])
		for _, call := range calls {
			if call.tenant == ti && call.status == http.StatusOK {
				extra--
			}
		}
		t.Logf("%s: %d decisions, %d usage events, %d outbox rows; %d committed without the client seeing the 200",
			tn.name, len(st.decisions[ti]), len(st.usage[ti]), len(st.outbox[ti]), extra)
	}
}

// metricSum adds the values of a metric's samples in a Prometheus text exposition.
func metricSum(exposition, name string) float64 {
	var sum float64
	for _, line := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) > 0 {
			v, _ := strconv.ParseFloat(fields[0], 64)
			sum += v
		}
	}
	return sum
}
