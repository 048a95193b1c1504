package scores

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/tenants"
)

// Gateway runs scoring calls.
type Service struct {
	db        *gorm.DB
	clock     clock.Clock
	scorer    Scorer
	limiter   ratelimit.Limiter
	meter     *metering.Meter
	consents  *consents.Service
	catalog   Catalog
	tenants   *tenants.Cache
	sandbox   *batchWriter
	memo      *sandboxMemo
	allowance *sandboxAllowance
	models    *scoring.Library
	groups    groups
	log       *slog.Logger
	// requireEmail refuses live calls of tenants whose email is not verified.
	requireEmail bool
	// decided counts decisions by environment and recommendation; charged counts live charges by
	// billing state (a trial credit spent, or a metered analysis).
	decided, charged *prometheus.CounterVec
	// groupSize observes how many calls each charging transaction took (group.go).
	groupSize prometheus.Histogram
}

// Options wire the scoring call.
type Options struct {
	DB       *gorm.DB
	Clock    clock.Clock
	Scorer   Scorer
	Limiter  ratelimit.Limiter
	Meter    *metering.Meter
	Consents *consents.Service
	Catalog  Catalog
	// Models holds the embedded models, for model cards and replays; nil makes one.
	Models *scoring.Library
	// SandboxDailyCalls bounds each tenant's sandbox calls a day (DefaultSandboxDailyCalls when 0).
	SandboxDailyCalls int
	// RequireVerifiedEmail refuses live calls (403 email_unverified) until the tenant's signup
	// email is verified.
	RequireVerifiedEmail bool
	// Accounts caches tenants' accounts (shared with the tenant service); nil makes one.
	Accounts *tenants.Cache
	Logger   *slog.Logger
	// Registerer receives the decision and charge counters; nil skips them.
	Registerer prometheus.Registerer
	// GroupMax is how many calls one charging transaction takes at most (DefaultGroupMax when 0;
	// 1 turns group commit off).
	GroupMax int
	// GroupRunners is how many charging transactions run at once (1 when 0): on the development
	// machine one does best, each taking the calls that queued while the one before ran.
	GroupRunners int
}

// New returns the scoring call service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Models == nil {
		o.Models = &scoring.Library{}
	}
	if o.Accounts == nil {
		o.Accounts = tenants.NewCache(o.DB, tenants.AccountTTL)
	}
	if o.GroupMax <= 0 {
		o.GroupMax = DefaultGroupMax
	}
	if o.GroupRunners <= 0 {
		o.GroupRunners = 1
	}
	g := &Service{
		db: o.DB, clock: o.Clock, scorer: o.Scorer, limiter: o.Limiter, meter: o.Meter,
		consents: o.Consents, catalog: o.Catalog, tenants: o.Accounts,
		sandbox: newBatchWriter(o.DB, o.Logger), memo: newSandboxMemo(), models: o.Models, log: o.Logger,
		allowance: newSandboxAllowance(o.SandboxDailyCalls), requireEmail: o.RequireVerifiedEmail,
		groups: groups{max: o.GroupMax, runners: o.GroupRunners},
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketfin_decisions_total",
			Help: "Decisions answered, by environment and recommendation."}, []string{"environment", "recommendation"}),
		charged: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketfin_charges_total",
			Help: "Live analyses charged, by billing state: trial_credit (a credit spent) or pending (metered)."}, []string{"billing_state"}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rocketfin_charge_group_size",
			Help:    "Calls that shared a charging transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(g.decided, g.charged, g.groupSize)
	}
	return g
}

// Close waits for queued sandbox writes; call it after the HTTP server has
// stopped taking requests.
func (g *Service) Close() { g.sandbox.Close() }

// Call is one POST /v1/scores as the HTTP layer hands it over.
type Call struct {
	Principal      keys.Principal
	Body           []byte
	IdempotencyKey string
	Language       string
	RequestID      string
	Started        time.Time
	// MonitorID names the monitor this call puts the company under (POST /v1/monitors); Within
	// then runs inside the charging transaction, after the decision is written, so that the
	// monitor exists if and only if the call is charged.
	MonitorID string
	Within    func(ctx context.Context, tx *gorm.DB, d Decision, req scoring.Request) error
	// Endpoint names the route an Idempotency-Key belongs to when it is not POST /v1/scores
	// ("monitors"): the same key on two routes is two keys. Also joins the request's fingerprint
	// (what the route decoded beyond the scoring request), and Render builds the route's answer
	// from the score's inside the charging transaction, after Within: that answer is the one
	// returned, and the one saved for the key's replays.
	Endpoint string
	Also     any
	Render   func(score []byte) ([]byte, error)
}

// key is the Idempotency-Key as stored: prefixed with its endpoint, but for POST /v1/scores.
func (c Call) key() string {
	if c.IdempotencyKey == "" || c.Endpoint == "" {
		return c.IdempotencyKey
	}
	return c.Endpoint + "/" + c.IdempotencyKey
}

// Answer is what the caller receives.
type Answer struct {
	Body     []byte
	Replayed bool
	// Limits describes the caller's buckets after this call: the credential's, then the
	// tenant's.
	Limits []Bucket
}

// Score runs one scoring call through every check, the core and the
// charging transaction.
func (g *Service) Score(ctx context.Context, c Call) (Answer, error) {
	now := g.clock.Now()
	p := c.Principal
	tenant, err := g.tenants.Account(ctx, p.TenantID, now)
	if err != nil {
		return Answer{}, err
	}
	var ans Answer
	if ans.Limits, err = g.takeTokens(ctx, p, tenant, now); err != nil {
		return ans, err
	}
	if p.Environment == keys.Sandbox {
		if err := g.allowance.take(p.TenantID, now); err != nil {
			return ans, err
		}
	}

	if err := idempotency.ValidKey(c.IdempotencyKey); err != nil {
		return ans, err
	}
	// A sandbox answer depends only on the body and the language (fixed
	// catalog, fixed date, fixed model): repeated bodies skip decoding,
	// the catalog fill and the engine.
	memoKey := ""
	if p.Environment == keys.Sandbox && c.IdempotencyKey == "" {
		memoKey = sandboxMemoKey(c.Body, c.Language)
	}
	ev, cached := g.memo.get(memoKey)
	if !cached {
		req, meta, err := decodeRequest(c.Body)
		if err != nil {
			return ans, err
		}
		// Bank data needs a consent when the caller sends it; a sole trader is a natural person
		// wherever its data comes from, so the sandbox catalog's need one too, as in live.
		scopes := neededScopes(&req)
		if p.Environment == keys.Sandbox {
			if err := g.fillFromCatalog(&req); err != nil {
				return ans, err
			}
			if personalData(&req) && !slices.Contains(scopes, consents.ScopePersonalData) {
				scopes = append(scopes, consents.ScopePersonalData)
			}
		}
		ev = &evaluated{req: req, meta: meta, scopes: scopes}
	}
	var fingerprint string
	if c.IdempotencyKey != "" {
		var decoded any = scoreBody{ev.req, ev.meta}
		if c.Also != nil {
			decoded = []any{decoded, c.Also}
		}
		if fingerprint, err = idempotency.Fingerprint(decoded); err != nil {
			return ans, err
		}
		if stored, found, err := g.replay(ctx, p, c.key(), fingerprint); err != nil || found {
			ans.Body, ans.Replayed = stored.Body, found
			return ans, err
		}
	}
	consentID, err := g.consents.Require(ctx, p, ev.req.Company.ID, ev.scopes)
	if err != nil {
		return g.replayOr(ctx, c, fingerprint, ans, err)
	}
	if p.Environment == keys.Live {
		// What the charging transaction would refuse anyway, and a live call before the email is
		// verified. The cached account may be a second old: a refusal is confirmed on a fresh read.
		if tenant.LiveRefusal(now, g.requireEmail) != nil {
			if tenant, err = g.tenants.Fresh(ctx, p.TenantID, now); err != nil {
				return ans, err
			}
			if err := tenant.LiveRefusal(now, g.requireEmail); err != nil {
				return g.replayOr(ctx, c, fingerprint, ans, err)
			}
		}
	}
	asOf := now
	if p.Environment == keys.Sandbox {
		asOf = g.catalog.EvaluationDate()
	}
	if !cached {
		if !hasDataToScore(&ev.req) {
			return g.replayOr(ctx, c, fingerprint, ans, problem.New(problem.InsufficientData,
				"there is nothing to score for %s: send at least one of financials, bank.months, payments or legal_events; nothing was charged", ev.req.Company.ID))
		}
		ectx, span := telemetry.Span(ctx, "scoring.evaluate")
		result, err := g.scorer.Evaluate(ectx, &ev.req, scoring.Options{Language: c.Language, AsOf: asOf})
		span.End(err)
		if err != nil {
			if problem.As(err) != nil {
				return ans, err
			}
			g.log.ErrorContext(ctx, "scoring core failed", "error", err.Error())
			return g.replayOr(ctx, c, fingerprint, ans,
				problem.New(problem.ScoringUnavailable, "the scoring engine did not answer in time; nothing was charged, retry later"))
		}
		if err := ev.encode(result); err != nil {
			return ans, err
		}
		g.memo.put(memoKey, ev)
	}

	cctx, span := telemetry.Span(ctx, "scores.charge")
	body, err := g.commit(cctx, c, ev, consentID, fingerprint, now, asOf)
	span.End(err)
	if errors.Is(err, idempotency.ErrClaimed) {
		stored, found, rerr := g.replay(ctx, p, c.key(), fingerprint)
		if rerr == nil && !found {
			rerr = idempotency.InProgress()
		}
		ans.Body, ans.Replayed = stored.Body, found
		return ans, rerr
	}
	if err != nil {
		return g.replayOr(ctx, c, fingerprint, ans, err)
	}
	ans.Body = body
	return ans, nil
}

// replayOr answers a refused call with the stored answer of its
// Idempotency-Key when a concurrent duplicate committed meanwhile (its
// charge may be what now refuses this one), and with the refusal otherwise.
func (g *Service) replayOr(ctx context.Context, c Call, fingerprint string, ans Answer, refusal error) (Answer, error) {
	if c.IdempotencyKey == "" || problem.As(refusal) == nil {
		return ans, refusal
	}
	stored, found, err := g.replay(ctx, c.Principal, c.key(), fingerprint)
	if err != nil || !found {
		return ans, refusal
	}
	ans.Body, ans.Replayed = stored.Body, true
	return ans, nil
}

// commit spends, records and answers: a sandbox call without an Idempotency-Key through the
// sandbox batch writer, every other call in the next charging transaction (group.go).
func (g *Service) commit(ctx context.Context, c Call, ev *evaluated, consentID, fingerprint string, now, asOf time.Time) ([]byte, error) {
	p := c.Principal
	scoreID := ids.New(ids.Score)
	req, result, output := &ev.req, ev.result, ev.output
	idemKey := c.key()
	if idemKey == "" {
		idemKey = scoreID
	}
	call := metering.Analysis{
		TenantID: p.TenantID, Environment: string(p.Environment), ScoreID: scoreID, KeyID: p.CredentialID,
		RequestID: c.RequestID, IdempotencyKey: idemKey, At: now,
	}
	d := Decision{
		ID: scoreID, TenantID: p.TenantID, Environment: string(p.Environment), KeyID: p.CredentialID, RequestID: c.RequestID,
		CompanyID: req.Company.ID, ModelVersion: result.ModelVersion, Score: result.Score, PD12m: result.PD12m,
		Grade: result.Grade, Recommendation: result.Recommendation, Input: ev.input,
		InputSHA256: ev.inputSHA, Output: string(output), AsOf: asOf, CreatedAt: now,
		Language: scoring.Language(c.Language), Metadata: ev.meta.Encode(),
	}
	if consentID != "" {
		d.ConsentID = &consentID
	}
	if c.MonitorID != "" {
		cause := CauseMonitorCreated
		d.MonitorID, d.Cause = &c.MonitorID, &cause
	}
	head, err := json.Marshal(scoreHead{
		ID: scoreID, Object: "score", Environment: string(p.Environment), CreatedAt: now,
		Company: CompanyRef{ID: req.Company.ID, IDType: req.Company.IDType, Name: req.Company.Name}, Metadata: nonNil(ev.meta),
	})
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	free := metering.Charge{BillingState: metering.StateFree, Currency: g.meter.Price().Currency}
	if p.Environment == keys.Sandbox && c.IdempotencyKey == "" && c.Within == nil {
		d.LatencyUS = time.Since(c.Started).Microseconds()
		if err := g.sandbox.write(ctx, d, metering.NewUsageEvent(call, free)); err != nil {
			return nil, err
		}
		g.decided.WithLabelValues(d.Environment, d.Recommendation).Inc()
		return spliceAnswer(head, output, nil), nil
	}
	out := g.charge(&charging{
		ctx: ctx, p: p, key: c.key(), fingerprint: fingerprint, started: c.Started,
		d: d, analysis: call, head: head, output: output, req: req, within: c.Within, render: c.Render,
	})
	return out.body, out.err
}

// scoreBody is the body of POST /v1/scores: what the engine scores, and the client's metadata.
type scoreBody struct {
	scoring.Request
	Metadata metadata.Metadata `json:"metadata"`
}

func decodeRequest(body []byte) (scoring.Request, metadata.Metadata, error) {
	var b scoreBody
	if err := httpx.DecodeBytes(body, &b); err != nil {
		return b.Request, nil, err
	}
	if err := b.Request.Validate(); err != nil {
		return b.Request, nil, err
	}
	if err := checkIdentifiers(&b.Request); err != nil {
		return b.Request, nil, err
	}
	if err := b.Metadata.Validate("metadata"); err != nil {
		return b.Request, nil, err
	}
	return b.Request, b.Metadata, nil
}

// neededScopes are the consents a request needs: bank data, and a natural
// person (a sole trader).
func neededScopes(req *scoring.Request) []string {
	var scopes []string
	if req.Bank != nil && len(req.Bank.Months) > 0 {
		scopes = append(scopes, consents.ScopeBankData)
	}
	if personalData(req) {
		scopes = append(scopes, consents.ScopePersonalData)
	}
	return scopes
}

// personalData reports whether the company is a sole trader: a natural person.
func personalData(req *scoring.Request) bool { return consents.NaturalPerson(req.Company.LegalForm) }

// hasDataToScore reports whether a request holds anything beyond the company's profile: a
// statement, bank months, payment behaviour or a legal event. Without any, an answer would
// say nothing about the firm, so it is refused (422) and nothing is charged.
func hasDataToScore(req *scoring.Request) bool {
	p := req.Payments
	return len(req.Financials) > 0 || (req.Bank != nil && len(req.Bank.Months) > 0) || len(req.LegalEvents) > 0 ||
		(p != nil && (p.DaysBeyondTermsAvg != nil || p.Incidents12m != nil || p.LateInvoiceRatio != nil))
}

// fillFromCatalog makes a sandbox request: only catalog companies, whose
// stored data fill whatever the caller did not send.
func (g *Service) fillFromCatalog(req *scoring.Request) error {
	stored, ok := g.catalog.Lookup(req.Company.ID)
	if !ok {
		return problem.Field("company.id", "%q is not a sandbox company: sandbox keys score only the fictitious companies of GET /v1/sandbox/companies", req.Company.ID)
	}
	if req.Company.IDType == "" {
		req.Company.IDType = stored.Company.IDType
	}
	if req.Company.Name == "" {
		req.Company.Name = stored.Company.Name
	}
	if req.Company.Country == "" {
		req.Company.Country = stored.Company.Country
	}
	if req.Company.NACE == "" {
		req.Company.NACE = stored.Company.NACE
	}
	if req.Company.LegalForm == "" {
		req.Company.LegalForm = stored.Company.LegalForm
	}
	if req.Company.IncorporatedOn == "" {
		req.Company.IncorporatedOn = stored.Company.IncorporatedOn
	}
	if req.Financials == nil {
		req.Financials = stored.Financials
	}
	if req.Bank == nil {
		req.Bank = stored.Bank
	}
	if req.Payments == nil {
		req.Payments = stored.Payments
	}
	if req.LegalEvents == nil {
		req.LegalEvents = stored.LegalEvents
	}
	if req.Request == nil {
		req.Request = stored.Request
	}
	return nil
}

// Bucket is one rate-limit bucket a call was taken from, and what it said.
type Bucket struct {
	Name    string // "credential" or "tenant"
	Limit   ratelimit.Limit
	Verdict ratelimit.Verdict
}

// limitOf is a credential's limit: its tenant's own, else DefaultLimit.
func limitOf(t tenants.Account) ratelimit.Limit {
	if t.RateLimitPerSecond != nil && t.RateLimitBurst != nil && *t.RateLimitPerSecond > 0 && *t.RateLimitBurst > 0 {
		return ratelimit.Limit{PerSecond: *t.RateLimitPerSecond, Burst: *t.RateLimitBurst}
	}
	return DefaultLimit
}

// DefaultLimit applies to every credential unless its tenant has its own.
var DefaultLimit = ratelimit.Limit{PerSecond: 20, Burst: 40}

// TenantFactor is how many times a credential's limit its whole tenant may use: a tenant with
// several keys may run two of them at full speed, not three hundred.
const TenantFactor = 2

// takeTokens takes one token from the credential's bucket and one from its tenant's, and refuses
// with 429 and Retry-After when either is empty.
func (g *Service) takeTokens(ctx context.Context, p keys.Principal, tenant tenants.Account, now time.Time) ([]Bucket, error) {
	l := limitOf(tenant)
	buckets := []Bucket{{Name: "credential", Limit: l}, {Name: "tenant", Limit: ratelimit.Limit{PerSecond: TenantFactor * l.PerSecond, Burst: TenantFactor * l.Burst}}}
	for i, key := range []string{"key:" + p.CredentialID, "tenant:" + p.TenantID} {
		b := &buckets[i]
		v, err := g.limiter.Take(ctx, key, b.Limit, now)
		if err != nil {
			return buckets[:i], fmt.Errorf("rate limit: %w", err)
		}
		b.Verdict = v
		if !v.Allowed {
			e := problem.New(problem.RateLimited, "this %s is limited to %g requests a second (burst %d)", b.Name, b.Limit.PerSecond, b.Limit.Burst)
			e.RetryAfter = max(1, int(math.Ceil(v.RetryAfter.Seconds())))
			return buckets[:i+1], e
		}
	}
	return buckets, nil
}

// RateLimitHeaders renders the IETF RateLimit-Policy and RateLimit fields, one item a bucket.
func RateLimitHeaders(buckets []Bucket) (policy, state string) {
	var ps, ss []string
	for _, b := range buckets {
		l, v := b.Limit, b.Verdict
		window := int(math.Ceil(float64(l.Burst) / l.PerSecond))
		ps = append(ps, fmt.Sprintf(`"%s";q=%d;w=%d`, b.Name, l.Burst, window))
		reset := int(math.Ceil(v.FullAfter.Seconds()))
		if !v.Allowed {
			reset = int(math.Ceil(v.RetryAfter.Seconds()))
		}
		ss = append(ss, `"`+b.Name+`";r=`+strconv.Itoa(int(math.Floor(v.Remaining)))+";t="+strconv.Itoa(reset))
	}
	return strings.Join(ps, ", "), strings.Join(ss, ", ")
}

// nonNil shows absent metadata as {}.
func nonNil(m metadata.Metadata) metadata.Metadata {
	if m == nil {
		return metadata.Metadata{}
	}
	return m
}

// spliceAnswer builds the JSON of a ScoreView from its head and the
// already encoded result, so that the result is encoded once per call.
func spliceAnswer(head, result []byte, credits *int64) []byte {
	out := make([]byte, 0, len(head)+len(result)+32)
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	out = append(out, result[1:len(result)-1]...)
	out = append(out, `,"credits_remaining":`...)
	if credits == nil {
		out = append(out, "null"...)
	} else {
		out = strconv.AppendInt(out, *credits, 10)
	}
	return append(out, '}')
}
