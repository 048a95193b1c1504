package monitoring

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/jobs"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/webhooks"
)

type catalog struct{}

func (catalog) Lookup(id string) (scoring.Request, bool) { return sandbox.Lookup(id) }
func (catalog) EvaluationDate() time.Time                { return sandbox.EvaluationDate() }

// sweepRig is the monitoring service on db with the real engine, and a live tenant.
type sweepRig struct {
	db     *gorm.DB
	svc    *Service
	clk    *clock.Fake
	tenant string
	engine *scoring.Engine
	// seedDecision is the decision the seeded monitors name as their last.
	seedDecision string
}

func newSweepRig(tb testing.TB, db *gorm.DB, status string) *sweepRig {
	tb.Helper()
	lib := &scoring.Library{}
	engine, err := lib.Engine(scoring.ModelName)
	if err != nil {
		tb.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	q, err := jobs.Open(context.Background(), db, jobs.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	box, _ := secretbox.Parse(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	hooks := webhooks.New(webhooks.Options{DB: db, Clock: clk, Box: box, Queue: q})
	sc := scores.New(scores.Options{DB: db, Clock: clk, Scorer: scores.Local{Engine: engine}, Consents: consents.NewService(db, clk),
		Catalog: catalog{}, Models: lib})
	tb.Cleanup(sc.Close)
	var grades []string
	for _, g := range engine.Grades() {
		grades = append(grades, g.Name)
	}
	tenant := ids.New(ids.Tenant)
	dbtest.InsertTenant(tb, db, dbtest.Tenant{ID: tenant, Status: status, TrialEndsAt: clk.Now().Add(24 * time.Hour)})
	meter := metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clk).WithMonitoringPrice(money.Money{Amount: 5, Currency: "EUR"})
	seed := ids.New(ids.Score)
	if err := db.Exec(`INSERT INTO decisions (id, tenant_id, environment, key_id, request_id, company_id, model_version, score, pd_12m,
		grade, recommendation, input, input_sha256, output, latency_us, as_of, created_at) VALUES (?, ?, 'live', 'key_x', '', 'FR-0', ?, 0, 0, '', '', '{}', '', '{}', 0, ?, ?)`,
		seed, tenant, scoring.ModelName, clk.Now(), clk.Now()).Error; err != nil {
		tb.Fatal(err)
	}
	return &sweepRig{db: db, clk: clk, tenant: tenant, engine: engine, seedDecision: seed,
		svc: New(Options{DB: db, Clock: clk, Scores: sc, Webhooks: hooks, Queue: q, Grades: grades, Meter: meter})}
}

// template is a live monitored company's data.
func template() scoring.Request {
	f := func(v float64) *float64 { return &v }
	zero := 0
	return scoring.Request{
		Company: scoring.Company{ID: "FR-0", Country: "FR", NACE: "46.90", LegalForm: "SAS", IncorporatedOn: "2012-03-01"},
		Financials: []scoring.Statement{{PeriodEnd: "2025-12-31", Currency: "EUR", TotalAssets: f(1_200_000), CurrentAssets: f(700_000),
			Cash: f(90_000), Receivables: f(300_000), Inventory: f(200_000), TotalLiabilities: f(700_000), CurrentLiabilities: f(400_000),
			Equity: f(500_000), RetainedEarnings: f(300_000), Revenue: f(2_400_000), EBIT: f(180_000), NetIncome: f(120_000),
			InterestExpense: f(15_000), Depreciation: f(40_000)}},
		Payments: &scoring.Payments{DaysBeyondTermsAvg: f(3), Incidents12m: &zero, LateInvoiceRatio: f(0.05)},
	}
}

// seed writes n live monitors of the rig's tenant straight into the tables, each with the answer
// the engine gives today, except every stale-th one (0: none) whose stored score is off by 100:
// the sweep finds its answer changed.
func (r *sweepRig) seed(tb testing.TB, n, stale int) {
	tb.Helper()
	req := template()
	res, err := r.engine.Evaluate(&req, scoring.Options{AsOf: r.clk.Now()})
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := json.Marshal(req)
	now := r.clk.Now().Add(-24 * time.Hour)
	const chunk = 2000
	for start := 0; start < n; start += chunk {
		var ms []Monitor
		for i := start; i < min(n, start+chunk); i++ {
			score := res.Score
			if stale > 0 && i%stale == 0 {
				score += 100
			}
			ms = append(ms, Monitor{ID: ids.New(ids.Monitor), TenantID: r.tenant, Environment: keys.Live, CompanyID: "FR-" + strconv.Itoa(i),
				Request: string(data), ScoreDropPoints: 50, GradeNotches: 2, Status: StatusActive, AlertState: AlertOK,
				LastDecisionID: r.seedDecision, Score: score, PD12m: res.PD12m, Grade: res.Grade, Recommendation: res.Recommendation,
				Language: "en", Metadata: "{}", LastEvaluatedAt: now, CreatedAt: now, UpdatedAt: now})
		}
		if err := r.db.CreateInBatches(ms, 500).Error; err != nil {
			tb.Fatal(err)
		}
	}
}

// TestTheSweepKeepsADecisionOnlyWhenTheAnswerChanged: of ten monitors, the two whose stored answer
// differs from today's get a decision linked to the previous one and a score.updated event; the
// others are only marked evaluated.
func TestTheSweepKeepsADecisionOnlyWhenTheAnswerChanged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		r := newSweepRig(t, db, "active")
		r.seed(t, 10, 5)
		st, err := r.svc.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first := st
		if st.Seen != 10 || st.Rescored != 2 || st.Unchanged != 8 || st.Paused != 0 || st.Failed != 0 {
			t.Fatalf("sweep %+v", st)
		}
		var decisions, events int64
		db.Table("decisions").Where("tenant_id = ? AND cause = ? AND previous_decision_id = ?", r.tenant, scores.CauseDailySweep, r.seedDecision).Count(&decisions)
		db.Table("events").Where("tenant_id = ? AND type = ?", r.tenant, webhooks.ScoreUpdated).Count(&events)
		if decisions != 2 || events != 2 {
			t.Fatalf("%d decisions and %d score.updated events, want 2 each", decisions, events)
		}
		// Swept again the same day, nothing has changed and no day is counted twice.
		if st, err := r.svc.Sweep(context.Background()); err != nil || st.Rescored != 0 || st.Unchanged != 10 || st.Days != 0 {
			t.Fatalf("second sweep %+v %v", st, err)
		}
		// One monitored company day per monitor, billed (the tenant is subscribed): one outbox row each.
		var days, outbox int64
		db.Table("usage_events").Where("tenant_id = ? AND metric = ? AND billing_state = ? AND amount = 5", r.tenant, metering.MetricMonitoredCompanyDays, metering.StatePending).Count(&days)
		db.Table("outbox").Where("tenant_id = ? AND payload LIKE ?", r.tenant, `%"metric":"monitored_company_days"%`).Count(&outbox)
		if first.Days != 10 || days != 10 || outbox != 10 {
			t.Fatalf("%d days in the first sweep, %d usage events, %d outbox rows; want 10 each", first.Days, days, outbox)
		}
		// The next day counts again.
		r.clk.Advance(24 * time.Hour)
		if st, err := r.svc.Sweep(context.Background()); err != nil || st.Days != 10 {
			t.Fatalf("next day's sweep %+v %v", st, err)
		}
	})
}

// TestTheSweepPausesWhatMayNoLongerBeMonitored: a suspended tenant's monitors are paused, once.
func TestTheSweepPausesWhatMayNoLongerBeMonitored(t *testing.T) {
	r := newSweepRig(t, dbtest.Postgres(t), "suspended")
	r.seed(t, 3, 0)
	st, err := r.svc.Sweep(context.Background())
	if err != nil || st.Paused != 3 {
		t.Fatalf("sweep %+v %v", st, err)
	}
	var paused int64
	r.db.Table("events").Where("tenant_id = ? AND type = ?", r.tenant, webhooks.MonitorPaused).Count(&paused)
	if st, err := r.svc.Sweep(context.Background()); err != nil || st.Seen != 0 || paused != 3 {
		t.Fatalf("second sweep %+v %v, %d monitor.paused events", st, err, paused)
	}
}

// BenchmarkSweep sweeps ROCKETFIN_BENCH_MONITORS live monitors (default 100,000) on PostgreSQL, 1 %
// of them with a changed answer (a decision and an event each). It reports the sweep's duration
// (the target: under 60 s for 100,000 on the 2-core machine of the README).
//
//	go test ./monitoring -run '^$' -bench Sweep -benchtime 1x
func BenchmarkSweep(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ROCKETFIN_BENCH_MONITORS")); err == nil && v > 0 {
		n = v
	}
	r := newSweepRig(b, dbtest.Postgres(b), "active")
	r.seed(b, n, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := r.svc.Sweep(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(st.Took.Seconds(), "s/sweep")
		b.ReportMetric(float64(st.Seen)/st.Took.Seconds(), "monitors/s")
		fmt.Fprintf(os.Stderr, "sweep of %d monitors: %+v\n", n, st)
	}
}

// TestAnExpiredConsentTakesTheBankDataOutOfTheNextSweep: a monitor whose bank data was scored under
// a consent that has since expired is re-scored without it, and the event says so.
func TestAnExpiredConsentTakesTheBankDataOutOfTheNextSweep(t *testing.T) {
	r := newSweepRig(t, dbtest.Postgres(t), "active")
	req := template()
	in, out, low := 150_000.0, 170_000.0, -40_000.0
	req.Bank = &scoring.Bank{Currency: "EUR"}
	for _, m := range []string{"2026-08", "2026-09", "2026-10"} {
		req.Bank.Months = append(req.Bank.Months, scoring.BankMonth{Month: m, Inflows: &in, Outflows: &out, MinBalance: &low, EndBalance: &low})
	}
	withBank, err := r.engine.Evaluate(&req, scoring.Options{AsOf: r.clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(req)
	then := r.clk.Now().Add(-24 * time.Hour)
	m := Monitor{ID: ids.New(ids.Monitor), TenantID: r.tenant, Environment: keys.Live, CompanyID: req.Company.ID, Request: string(data),
		ScoreDropPoints: 50, GradeNotches: 2, Status: StatusActive, AlertState: AlertOK, LastDecisionID: r.seedDecision,
		Score: withBank.Score, PD12m: withBank.PD12m, Grade: withBank.Grade, Recommendation: withBank.Recommendation, Language: "en",
		Metadata: "{}", LastEvaluatedAt: then, CreatedAt: then, UpdatedAt: then}
	if err := r.db.Create(&m).Error; err != nil {
		t.Fatal(err)
	}
	// A second company with the same data, whose consent is still in force: its answer stands.
	kept := m
	kept.ID, kept.CompanyID = ids.New(ids.Monitor), "FR-KEPT"
	keptReq := req
	keptReq.Company.ID = kept.CompanyID
	keptData, _ := json.Marshal(keptReq)
	kept.Request = string(keptData)
	if err := r.db.Create(&kept).Error; err != nil {
		t.Fatal(err)
	}
	if err := r.db.Exec(`INSERT INTO consents (id, tenant_id, environment, company_id, scopes, evidence, key_id, created_at, expires_at)
		VALUES (?, ?, 'live', ?, 'bank_data', 'form', 'key_x', ?, ?)`, ids.New(ids.Consent), r.tenant, kept.CompanyID, then, then.Add(365*24*time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	// The first one's consent expired yesterday.
	if err := r.db.Exec(`INSERT INTO consents (id, tenant_id, environment, company_id, scopes, evidence, key_id, created_at, expires_at)
		VALUES (?, ?, 'live', ?, 'bank_data', 'form', 'key_x', ?, ?)`, ids.New(ids.Consent), r.tenant, req.Company.ID, then.Add(-365*24*time.Hour), then).Error; err != nil {
		t.Fatal(err)
	}
	st, err := r.svc.Sweep(context.Background())
	if err != nil || st.Rescored != 1 || st.Unchanged != 1 {
		t.Fatalf("sweep %+v %v", st, err)
	}
	var ev webhooks.Event
	if err := r.db.Where("tenant_id = ? AND type = ?", r.tenant, webhooks.ScoreUpdated).Take(&ev).Error; err != nil {
		t.Fatal(err)
	}
	var change ScoreChange
	if err := json.Unmarshal([]byte(ev.Data), &change); err != nil || !change.BankDropped || change.Decision.Score == withBank.Score {
		t.Fatalf("score.updated %s (%v)", ev.Data, err)
	}
	var d scores.Decision
	if err := r.db.Where("id = ?", change.Decision.ID).Take(&d).Error; err != nil || strings.Contains(d.Input, `"bank"`) {
		t.Fatalf("the decision scored bank data: %v %s", err, d.Input)
	}
}

// TestNewDataIsScoredUnderItsConsentOnBothDatabases: a monitor with bank data takes new data (its
// consent is read while nothing holds the one SQLite connection) and keeps the bank data.
func TestNewDataIsScoredUnderItsConsentOnBothDatabases(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		r := newSweepRig(t, db, "active")
		req := template()
		in, out, bal := 150_000.0, 140_000.0, 20_000.0
		req.Bank = &scoring.Bank{Currency: "EUR", Months: []scoring.BankMonth{{Month: "2026-10", Inflows: &in, Outflows: &out, MinBalance: &bal, EndBalance: &bal}}}
		data, _ := json.Marshal(req)
		now := r.clk.Now()
		m := Monitor{ID: ids.New(ids.Monitor), TenantID: r.tenant, Environment: keys.Live, CompanyID: req.Company.ID, Request: string(data),
			ScoreDropPoints: 50, GradeNotches: 2, Status: StatusActive, AlertState: AlertOK, LastDecisionID: r.seedDecision,
			Score: 500, PD12m: 0.01, Grade: "R4", Recommendation: "accept", Language: "en", Metadata: "{}", LastEvaluatedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := r.db.Create(&m).Error; err != nil {
			t.Fatal(err)
		}
		if err := r.db.Exec(`INSERT INTO consents (id, tenant_id, environment, company_id, scopes, evidence, key_id, created_at, expires_at)
			VALUES (?, ?, 'live', ?, 'bank_data', 'form', 'key_x', ?, ?)`, ids.New(ids.Consent), r.tenant, req.Company.ID, now, now.Add(365*24*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p := keys.Principal{TenantID: r.tenant, Environment: keys.Live}
		incidents := 1
		u, err := r.svc.AddData(ctx, p, m.ID, DataInput{Payments: &scoring.Payments{Incidents12m: &incidents}})
		if err != nil {
			t.Fatal(err)
		}
		if u.Decision.ConsentID == nil || !strings.Contains(u.Decision.Input, `"bank"`) || u.Monitor.LastDecisionID != u.Decision.ID {
			t.Fatalf("decision %+v", u.Decision)
		}
	})
}
