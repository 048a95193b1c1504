package scores_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type catalog struct{}

func (catalog) Lookup(id string) (scoring.Request, bool) { return sandbox.Lookup(id) }
func (catalog) EvaluationDate() time.Time                { return sandbox.EvaluationDate() }

// failing is a scoring core that does not answer.
type failing struct{}

func (failing) Evaluate(context.Context, *scoring.Request, scoring.Options) (scoring.Result, error) {
	return scoring.Result{}, errors.New("core down")
}

func liveBody() []byte {
	return []byte(`{"company":{"id":"FR-LIVE-1","id_type":"other","name":"Client","country":"FR","nace":"46.90","legal_form":"SAS",
		"incorporated_on":"2012-03-01"},"financials":[{"period_end":"2025-12-31","currency":"EUR","total_assets":1200000,
		"current_assets":700000,"cash":90000,"total_liabilities":700000,"current_liabilities":400000,"equity":500000,
		"revenue":2400000,"ebit":180000,"net_income":120000,"interest_expense":15000}]}`)
}

// callCase is one answer the scoring call can give, and what sets it up.
type callCase struct {
	name   string
	tenant dbtest.Tenant
	setup  func(t *testing.T, db *gorm.DB, id string) // after the tenant is inserted
	opts   func(o *scores.Options)
	env    keys.Environment
	body   []byte
	key    string // Idempotency-Key
	calls  int    // calls made before the one judged (same body and key unless set below)
	before []byte // body of the calls made before, when it differs
	want   problem.Code
}

// TestEveryAnswerOfTheScoringCall: one case per status POST /v1/scores can answer, on both
// databases, each refusal leaving no decision, no usage event and every credit where it was.
func TestEveryAnswerOfTheScoringCall(t *testing.T) {
	zero, hundred := int64(0), int64(100)
	cases := []callCase{
		{name: "200 live trial call", body: liveBody()},
		{name: "200 sandbox catalog company", env: keys.Sandbox, body: []byte(`{"company":{"id":"999000011"}}`)},
		{name: "400 malformed request", body: []byte(`{"company":{"id":""}}`), want: problem.Invalid},
		{name: "400 unknown country", body: []byte(`{"company":{"id":"FR-Z","country":"ZZ"}}`), want: problem.Invalid},
		{name: "401 tenant gone", tenant: dbtest.Tenant{ID: "-"}, body: liveBody(), want: problem.Unauthenticated},
		{name: "402 trial ended", tenant: dbtest.Tenant{TrialEndsAt: epoch.Add(-time.Hour)}, body: liveBody(), want: problem.TrialExpired},
		{name: "402 credits spent", tenant: dbtest.Tenant{Credits: &zero}, body: liveBody(), want: problem.CreditsExhausted},
		{name: "402 suspended", tenant: dbtest.Tenant{Status: "suspended"}, body: liveBody(), want: problem.AccountSuspended},
		{name: "402 monthly cap reached", tenant: dbtest.Tenant{Status: "active", MonthlyCap: &hundred}, body: liveBody(), want: problem.CreditsExhausted},
		{name: "422 nothing to score", body: []byte(`{"company":{"id":"FR-E","legal_form":"SAS"}}`), want: problem.InsufficientData},
		{name: "403 bank data without consent", body: []byte(`{"company":{"id":"FR-B"},"bank":{"currency":"EUR","months":[{"month":"2026-09","inflows":1000,"outflows":900}]}}`),
			want: problem.ConsentRequired},
		{name: "403 email unverified", opts: func(o *scores.Options) { o.RequireVerifiedEmail = true }, body: liveBody(), want: problem.EmailUnverified},
		{name: "409 key reused with another body", key: "k-1", calls: 1, body: liveBody(), want: problem.IdempotencyConflict,
			before: []byte(`{"company":{"id":"FR-OTHER","country":"FR"},"financials":[{"period_end":"2025-12-31","currency":"EUR","total_assets":1}]}`)},
		{name: "429 credential limit", setup: func(t *testing.T, db *gorm.DB, id string) {
			if err := db.Exec("UPDATE tenants SET rate_limit_per_second = 0.001, rate_limit_burst = 1 WHERE id = ?", id).Error; err != nil {
				t.Fatal(err)
			}
		}, env: keys.Sandbox, calls: 1, body: []byte(`{"company":{"id":"999000011"}}`), want: problem.RateLimited},
		{name: "429 sandbox daily allowance", opts: func(o *scores.Options) { o.SandboxDailyCalls = 1 }, env: keys.Sandbox, calls: 1,
			body: []byte(`{"company":{"id":"999000011"}}`), want: problem.RateLimited},
		{name: "503 scoring core down", opts: func(o *scores.Options) { o.Scorer = failing{} }, body: liveBody(), want: problem.ScoringUnavailable},
	}
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) { runCallCase(t, db, i, c) })
		}
	})
}

func runCallCase(t *testing.T, db *gorm.DB, i int, c callCase) {
	ctx := context.Background()
	id := fmt.Sprintf("ten_call%02d", i)
	tn := c.tenant
	if tn.ID != "-" {
		tn.ID = id
		dbtest.InsertTenant(t, db, tn)
		if c.setup != nil {
			c.setup(t, db, id)
		}
	}
	clk := clock.NewFake(epoch)
	engine, err := scoring.New()
	if err != nil {
		t.Fatal(err)
	}
	o := scores.Options{
		DB: db, Clock: clk, Scorer: scores.Local{Engine: engine}, Limiter: ratelimit.NewMemory(),
		Meter:    metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clk),
		Consents: consents.NewService(db, clk), Catalog: catalog{},
	}
	if c.opts != nil {
		c.opts(&o)
	}
	svc := scores.New(o)
	defer svc.Close()
	env := c.env
	if env == "" {
		env = keys.Live
	}
	call := scores.Call{Principal: keys.Principal{TenantID: id, Environment: env, CredentialID: "key_" + id}, IdempotencyKey: c.key, Started: time.Now()}
	credits := func() int64 {
		var n int64
		db.Raw("SELECT COALESCE(SUM(credits_remaining), 0) FROM tenants WHERE id = ?", id).Scan(&n)
		return n
	}
	records := func() (d, u int64) {
		db.Table("decisions").Where("tenant_id = ?", id).Count(&d)
		db.Table("usage_events").Where("tenant_id = ?", id).Count(&u)
		return d, u
	}
	for n := 0; n < c.calls; n++ {
		call.Body = c.body
		if c.before != nil {
			call.Body = c.before
		}
		if _, err := svc.Score(ctx, call); err != nil {
			t.Fatalf("call %d before the judged one: %v", n+1, err)
		}
	}
	creditsBefore, dBefore := credits(), func() int64 { d, _ := records(); return d }()
	call.Body = c.body
	ans, err := svc.Score(ctx, call)
	if c.want == "" {
		if err != nil {
			t.Fatalf("want an answer, got %v", err)
		}
		var v struct {
			ID    string `json:"id"`
			Score int    `json:"score"`
		}
		if err := json.Unmarshal(ans.Body, &v); err != nil || v.ID == "" {
			t.Fatalf("answer %s (%v)", ans.Body, err)
		}
		svc.Close() // the sandbox writer commits its queue
		if d, u := records(); d != dBefore+1 || u != dBefore+1 {
			t.Fatalf("%d decisions and %d usage events after one answered call, want %d of each", d, u, dBefore+1)
		}
		return
	}
	if got := problem.CodeOf(err); got != c.want {
		t.Fatalf("answer %v (code %q), want %s", err, got, c.want)
	}
	if c.want == problem.RateLimited || c.want == problem.ScoringUnavailable {
		if pe := problem.As(err); c.want == problem.RateLimited && pe.RetryAfter <= 0 {
			t.Fatalf("429 without a wait: %+v", pe)
		}
	}
	svc.Close()
	if d, _ := records(); d != dBefore || credits() != creditsBefore {
		t.Fatalf("a refusal left %d decisions (had %d) and %d credits (had %d)", d, dBefore, credits(), creditsBefore)
	}
}
