package scores_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

// groupService is a scoring service whose limits never refuse, with its metrics in reg.
func groupService(t *testing.T, db *gorm.DB, reg *prometheus.Registry, runners ...int) *scores.Service {
	t.Helper()
	clk := clock.NewFake(epoch)
	engine, err := scoring.New()
	if err != nil {
		t.Fatal(err)
	}
	svc := scores.New(scores.Options{
		DB: db, Clock: clk, Scorer: scores.Local{Engine: engine}, Limiter: ratelimit.NewMemory(),
		Meter:    metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clk),
		Consents: consents.NewService(db, clk), Catalog: catalog{}, Registerer: reg, GroupRunners: append(runners, 1)[0],
	})
	t.Cleanup(svc.Close)
	return svc
}

// unlimited lifts a tenant's rate limit.
func unlimited(t *testing.T, db *gorm.DB, id string) {
	t.Helper()
	if err := db.Exec("UPDATE tenants SET rate_limit_per_second = 1000000, rate_limit_burst = 1000000 WHERE id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
}

type outcome struct {
	id      string
	credits *int64
	code    problem.Code
	key     string
}

// scoreAll makes the calls concurrently, one a key ("" for none), and returns their outcomes.
func scoreAll(t *testing.T, svc *scores.Service, tenantID string, keysOf []string) []outcome {
	t.Helper()
	outs := make([]outcome, len(keysOf))
	var wg sync.WaitGroup
	for i, k := range keysOf {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := scores.Call{Principal: keys.Principal{TenantID: tenantID, Environment: keys.Live, CredentialID: "key_g"},
				Body: liveBody(), IdempotencyKey: k, Started: time.Now()}
			ans, err := svc.Score(context.Background(), call)
			outs[i].key = k
			if err != nil {
				if outs[i].code = problem.CodeOf(err); outs[i].code == "" {
					t.Errorf("call %d: %v", i, err)
				}
				return
			}
			var v struct {
				ID      string `json:"id"`
				Credits *int64 `json:"credits_remaining"`
			}
			if err := json.Unmarshal(ans.Body, &v); err != nil || v.ID == "" {
				t.Errorf("call %d answered %s", i, ans.Body)
			}
			outs[i].id, outs[i].credits = v.ID, v.Credits
		}()
	}
	wg.Wait()
	return outs
}

// records counts a tenant's decisions and usage events.
func records(db *gorm.DB, tenantID string) (decisions, usage int64) {
	db.Table("decisions").Where("tenant_id = ?", tenantID).Count(&decisions)
	db.Table("usage_events").Where("tenant_id = ?", tenantID).Count(&usage)
	return decisions, usage
}

// groupSizes reads the charging transactions' count and the calls they took.
func groupSizes(t *testing.T, reg *prometheus.Registry) (transactions uint64, calls float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "rocketfin_charge_group_size" {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no rocketfin_charge_group_size")
	return 0, 0
}

// One trial tenant's concurrent calls, with and without Idempotency-Keys, some sharing one: exactly
// as many are charged as there were credits, each with its own decision and usage event, the
// credits each answer reports count down without a gap or a repeat, and every call of the
// shared key that was answered got the one answer.
func TestGroupCommitSpendsEveryCreditOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for _, runners := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d transactions at once", runners), func(t *testing.T) { spendEveryCreditOnce(t, db, runners) })
		}
	})
}

func spendEveryCreditOnce(t *testing.T, db *gorm.DB, runners int) {
	busy := fmt.Sprintf("ten_busy%d", runners)
	credits := int64(37)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: busy, Credits: &credits})
	unlimited(t, db, busy)
	reg := prometheus.NewRegistry()
	svc := groupService(t, db, reg, runners)
	var ks []string
	for i := range 120 {
		switch {
		case i%6 == 0:
			ks = append(ks, "shared")
		case i%2 == 0:
			ks = append(ks, fmt.Sprintf("k-%d", i))
		default:
			ks = append(ks, "")
		}
	}
	outs := scoreAll(t, svc, busy, ks)
	ids := map[string]bool{}
	var left []int64
	shared := ""
	for _, o := range outs {
		switch {
		case o.id != "" && o.key == "shared":
			if shared != "" && o.id != shared {
				t.Fatalf("the shared key answered %s and %s", shared, o.id)
			}
			shared = o.id
			if !ids[o.id] {
				left = append(left, *o.credits)
			}
			ids[o.id] = true
		case o.id != "":
			if ids[o.id] {
				t.Fatalf("two calls answered %s", o.id)
			}
			ids[o.id] = true
			left = append(left, *o.credits)
		case o.code != problem.CreditsExhausted && !(o.key == "shared" && o.code == problem.IdempotencyConflict):
			t.Fatalf("call with key %q refused with %s", o.key, o.code)
		}
	}
	slices.Sort(left)
	for i, l := range left {
		if l != int64(i) {
			t.Fatalf("credits reported %v, want 0…36 once each", left)
		}
	}
	d, u := records(db, busy)
	var remaining int64
	db.Raw("SELECT credits_remaining FROM tenants WHERE id = ?", busy).Scan(&remaining)
	if len(ids) != 37 || d != 37 || u != 37 || remaining != 0 {
		t.Fatalf("%d answers, %d decisions, %d usage events, %d credits left; want 37, 37, 37, 0", len(ids), d, u, remaining)
	}
	if n, calls := groupSizes(t, reg); calls < 37 || n > uint64(calls) {
		t.Fatalf("%d transactions took %g calls", n, calls)
	}
}

// holdCapRow locks a tenant's spend of the month on PostgreSQL, so that its next charging
// transaction waits and the calls behind it queue; release lets them go.
func holdCapRow(t *testing.T, db *gorm.DB, tenantID string) (release func()) {
	t.Helper()
	tx := db.Begin()
	if err := tx.Exec("SELECT amount FROM monthly_spend WHERE tenant_id = ? FOR UPDATE", tenantID).Error; err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() }
}

// queueBehind starts the calls while the cap row is held, waits until all wait for a charging
// transaction (the first few in transactions that wait for the row, the others queued), releases
// the row and returns the outcomes.
func queueBehind(t *testing.T, db *gorm.DB, svc *scores.Service, tenantID string, ks []string) []outcome {
	t.Helper()
	release := holdCapRow(t, db, tenantID)
	done := make(chan []outcome)
	go func() { done <- scoreAll(t, svc, tenantID, ks) }()
	for scores.Waiting(svc) < len(ks) {
		time.Sleep(5 * time.Millisecond)
	}
	release()
	return <-done
}

// Calls that queue behind a running charging transaction share the next one; a group that meets the
// cap charges what fits and refuses the rest; a call whose records cannot be written fails alone
// and the others of its group are charged.
func TestGroupCommitSharesTransactionsAndIsolatesFailures(t *testing.T) {
	db := dbtest.Postgres(t)
	capAmount := int64(150 * 25)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_cap", Status: "active", MonthlyCap: &capAmount})
	unlimited(t, db, "ten_cap")
	if err := db.Exec("INSERT INTO monthly_spend (tenant_id, period, amount) VALUES ('ten_cap', ?, 0)", money.PeriodOf(epoch)).Error; err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	svc := groupService(t, db, reg)
	spent := func() int64 {
		var n int64
		db.Raw("SELECT amount FROM monthly_spend WHERE tenant_id = 'ten_cap'").Scan(&n)
		return n
	}

	// 11 calls: a transaction per runner may have started with the first calls, the others
	// share one transaction
	outs := queueBehind(t, db, svc, "ten_cap", make([]string, 11))
	for i, o := range outs {
		if o.id == "" {
			t.Fatalf("call %d refused: %s", i, o.code)
		}
	}
	if n, calls := groupSizes(t, reg); n > uint64(scores.Runners(svc)+1) || calls != 11 {
		t.Fatalf("11 queued calls took %d transactions (%g calls)", n, calls)
	}

	// a call whose usage event cannot be written (its key was charged before, its answer is gone)
	// fails alone: the five others of its group are charged
	if outs := scoreAll(t, svc, "ten_cap", []string{"charged-before"}); outs[0].id == "" {
		t.Fatalf("refused: %s", outs[0].code)
	}
	if err := db.Exec("DELETE FROM idempotency_keys WHERE key = 'charged-before'").Error; err != nil {
		t.Fatal(err)
	}
	outs = queueBehind(t, db, svc, "ten_cap", []string{"", "", "charged-before", "", "", ""})
	for _, o := range outs {
		if o.key == "charged-before" && o.code != problem.IdempotencyConflict || o.key != "charged-before" && o.id == "" {
			t.Fatalf("key %q: answer %q, refusal %q", o.key, o.id, o.code)
		}
	}
	if got := spent(); got != 150*17 {
		t.Fatalf("monthly spend %d after 17 charged calls, want %d", got, 150*17)
	}

	// a call whose client goes away while it waits in the queue is not charged
	release := holdCapRow(t, db, "ten_cap")
	first := make(chan []outcome)
	go func() { first <- scoreAll(t, svc, "ten_cap", []string{""}) }()
	for scores.Waiting(svc) < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error)
	go func() {
		_, err := svc.Score(ctx, scores.Call{Principal: keys.Principal{TenantID: "ten_cap", Environment: keys.Live, CredentialID: "key_g"},
			Body: liveBody(), Started: time.Now()})
		gone <- err
	}()
	for scores.Waiting(svc) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	release()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call whose client went away answered %v", err)
	}
	if outs := <-first; outs[0].id == "" {
		t.Fatalf("the call before it was refused: %s", outs[0].code)
	}
	if got := spent(); got != 150*18 {
		t.Fatalf("monthly spend %d after 18 charged calls, want %d", got, 150*18)
	}

	// 12 calls meet a cap with room for 7: 7 charged, 5 refused, the cap spent to the unit
	outs = queueBehind(t, db, svc, "ten_cap", make([]string, 12))
	ok, refused := 0, 0
	for _, o := range outs {
		switch {
		case o.id != "":
			ok++
		case o.code == problem.CreditsExhausted:
			refused++
		default:
			t.Fatalf("refused with %s", o.code)
		}
	}
	if d, u := records(db, "ten_cap"); ok != 7 || refused != 5 || spent() != capAmount || d != 25 || u != 25 {
		t.Fatalf("%d charged, %d refused, spend %d, %d decisions, %d usage events", ok, refused, spent(), d, u)
	}
}

// Calls of several tenants share transactions: each tenant spends its own credits or cap, exactly,
// and a tenant with nothing left refuses its own calls only.
func TestGroupCommitKeepsTenantsApart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		four, zero, capAmount := int64(4), int64(0), int64(150*2)
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_four", Credits: &four})
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_none", Credits: &zero})
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_two", Status: "active", MonthlyCap: &capAmount})
		svc := groupService(t, db, prometheus.NewRegistry())
		want := map[string]int{"ten_four": 4, "ten_none": 0, "ten_two": 2}
		var wg sync.WaitGroup
		got := map[string][]outcome{}
		var mu sync.Mutex
		for id := range want {
			unlimited(t, db, id)
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs := scoreAll(t, svc, id, make([]string, 10))
				mu.Lock()
				got[id] = outs
				mu.Unlock()
			}()
		}
		wg.Wait()
		for id, n := range want {
			ok := 0
			for _, o := range got[id] {
				if o.id != "" {
					ok++
				} else if o.code != problem.CreditsExhausted {
					t.Fatalf("%s: refused with %s", id, o.code)
				}
			}
			if d, u := records(db, id); ok != n || d != int64(n) || u != int64(n) {
				t.Fatalf("%s: %d answered, %d decisions, %d usage events; want %d", id, ok, d, u, n)
			}
		}
	})
}

// A panic inside a charging transaction fails its call, commits nothing and leaves the service
// charging the next calls.
func TestAPanicInAChargingTransactionFailsOnlyItsCall(t *testing.T) {
	db := dbtest.Postgres(t)
	credits := int64(5)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_panic", Credits: &credits})
	unlimited(t, db, "ten_panic")
	svc := groupService(t, db, prometheus.NewRegistry())
	call := scores.Call{Principal: keys.Principal{TenantID: "ten_panic", Environment: keys.Live, CredentialID: "key_g"},
		Body: liveBody(), Started: time.Now(), MonitorID: "mon_panic",
		// the fault under test: a hook that panics inside the charging transaction
		Within: func(context.Context, *gorm.DB, scores.Decision, scoring.Request) error { panic("boom") }}
	if _, err := svc.Score(context.Background(), call); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("a panicking call answered %v", err)
	}
	if d, u := records(db, "ten_panic"); d != 0 || u != 0 {
		t.Fatalf("the panicking call left %d decisions and %d usage events", d, u)
	}
	if outs := scoreAll(t, svc, "ten_panic", make([]string, 3)); outs[0].id == "" || outs[1].id == "" || outs[2].id == "" {
		t.Fatalf("calls after the panic: %+v", outs)
	}
	var left int64
	db.Raw("SELECT credits_remaining FROM tenants WHERE id = 'ten_panic'").Scan(&left)
	if left != 2 {
		t.Fatalf("%d credits left after 3 charged calls of 5, want 2", left)
	}
}

// A live call refused on the cached account is refused only if a fresh read agrees: credits an
// operator grants, or an email verified, count at the very next call, not a cache lifetime later.
func TestARefusalIsConfirmedOnAFreshRead(t *testing.T) {
	db := dbtest.Postgres(t)
	one := int64(1)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_grant", Credits: &one})
	unlimited(t, db, "ten_grant")
	svc := groupService(t, db, prometheus.NewRegistry()) // a fake clock: the cache never expires by itself
	score := func() problem.Code {
		outs := scoreAll(t, svc, "ten_grant", []string{""})
		return outs[0].code
	}
	if code := score(); code != "" {
		t.Fatalf("first call: %s", code)
	}
	if code := score(); code != problem.CreditsExhausted {
		t.Fatalf("no credit left: %q, want credits_exhausted", code)
	}
	if err := db.Exec("UPDATE tenants SET credits_remaining = 2 WHERE id = 'ten_grant'").Error; err != nil {
		t.Fatal(err)
	}
	if code := score(); code != "" {
		t.Fatalf("right after two credits were granted: %s", code)
	}
}
