package collections

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/monitoring"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

// Limits of one call.
const (
	MaxReceivables = 500
	// MaxScored is the most debtors one call scores (each a charged analysis in live).
	MaxScored = 50
	// Fresh is how old a decision may be and still stand for its debtor.
	Fresh = 30 * 24 * time.Hour
)

// Service ranks receivables.
type Service struct {
	scores    *scores.Service
	monitors  *monitoring.Service
	clock     clock.Clock
	declinePD float64
}

// New returns the service; declinePD is the current model's decline threshold.
func New(s *scores.Service, m *monitoring.Service, clk clock.Clock, declinePD float64) *Service {
	return &Service{scores: s, monitors: m, clock: clk, declinePD: declinePD}
}

// Input is the body of POST /v1/collections/prioritize.
type Input struct {
	Receivables []ReceivableInput `json:"receivables"`
	// AsOf is the day ages are counted at (YYYY-MM-DD), today by default.
	AsOf string `json:"as_of"`
}

// ReceivableInput is one receivable: its debtor is a monitor, or a company with its data.
type ReceivableInput struct {
	ID        string          `json:"id"`
	MonitorID string          `json:"monitor_id"`
	Debtor    json.RawMessage `json:"debtor"`
	Amount    *float64        `json:"amount"`
	Currency  string          `json:"currency"`
	DueDate   string          `json:"due_date"`
}

// Call is one prioritization as the HTTP layer hands it over.
type Call struct {
	Principal      keys.Principal
	Input          Input
	IdempotencyKey string
	Language       string
	RequestID      string
}

// Result is the ranking and how many analyses it charged.
type Result struct {
	AsOf    time.Time
	Ranked  []Ranked
	Charged int
}

// debtorToScore is a debtor given by its data, to score (once per distinct body).
type debtorToScore struct {
	index     int // first receivable naming it
	companyID string
	body      []byte
	hasData   bool
}

// Prioritize checks every receivable before anything is scored or charged, resolves each debtor's
// PD (a monitor's last decision; a decision of the last 30 days for a debtor sent without data; a
// scoring call otherwise, charged as one and, for the same debtor body, replayed rather than charged
// again within 24 hours), and ranks them.
func (s *Service) Prioritize(ctx context.Context, c Call) (Result, error) {
	in := c.Input
	asOf := s.clock.Now()
	if in.AsOf != "" {
		d, err := time.Parse("2006-01-02", in.AsOf)
		if err != nil {
			return Result{}, problem.Field("as_of", "must be a date YYYY-MM-DD")
		}
		asOf = d
	}
	if len(in.Receivables) == 0 {
		return Result{}, problem.Field("receivables", "is required: at least one receivable")
	}
	if len(in.Receivables) > MaxReceivables {
		return Result{}, problem.Field("receivables", "holds at most %d receivables per call", MaxReceivables)
	}
	rs := make([]Receivable, len(in.Receivables))
	seen := map[string]bool{}
	var toScore []*debtorToScore
	byBody := map[string]*debtorToScore{}
	monitorOf := map[int]string{}
	debtorOf := map[int]*debtorToScore{}
	currency := ""
	for i, r := range in.Receivables {
		f := func(name string) string { return fmt.Sprintf("receivables[%d].%s", i, name) }
		if r.ID == "" || len(r.ID) > 64 || valid.TextProblem(r.ID) != "" {
			return Result{}, problem.Field(f("id"), "is required: your reference of the receivable, at most 64 characters")
		}
		if seen[r.ID] {
			return Result{}, problem.Field(f("id"), "repeats %q: each receivable once", r.ID)
		}
		seen[r.ID] = true
		if r.Amount == nil || !(*r.Amount > 0 && *r.Amount < 1e15) {
			return Result{}, problem.Field(f("amount"), "is required: the amount owed, above 0, in major units of currency")
		}
		if !valid.Currency(r.Currency) {
			return Result{}, problem.Field(f("currency"), "must be an ISO 4217 code such as EUR")
		}
		if currency == "" {
			currency = r.Currency
		} else if r.Currency != currency {
			return Result{}, problem.Field(f("currency"), "must be %s like the first receivable's: rank one currency per call", currency)
		}
		due, err := time.Parse("2006-01-02", r.DueDate)
		if err != nil {
			return Result{}, problem.Field(f("due_date"), "must be a date YYYY-MM-DD")
		}
		rs[i] = Receivable{ID: r.ID, Amount: *r.Amount, Currency: r.Currency, Due: due}
		hasDebtor := len(bytes.TrimSpace(r.Debtor)) > 0 && string(bytes.TrimSpace(r.Debtor)) != "null"
		switch {
		case r.MonitorID != "" && hasDebtor:
			return Result{}, problem.Field(f("debtor"), "goes without monitor_id: name the debtor one way")
		case r.MonitorID != "":
			if !ids.Valid(ids.Monitor, r.MonitorID) {
				return Result{}, problem.Field(f("monitor_id"), "must be the id of one of your monitors (mon_…)")
			}
			monitorOf[i] = r.MonitorID
		case hasDebtor:
			var req scoring.Request
			if err := httpx.DecodeBytes(r.Debtor, &req); err != nil {
				return Result{}, prefixed(err, f("debtor"), r.ID)
			}
			if err := req.Validate(); err != nil {
				return Result{}, prefixed(err, f("debtor"), r.ID)
			}
			if req.Request != nil {
				return Result{}, problem.Field(f("debtor.request"), "is not needed: the receivable is the exposure")
			}
			canon, _ := json.Marshal(req)
			d := byBody[string(canon)]
			if d == nil {
				d = &debtorToScore{index: i, companyID: req.Company.ID, body: canon, hasData: hasData(req)}
				byBody[string(canon)] = d
				toScore = append(toScore, d)
			}
			debtorOf[i] = d
		default:
			return Result{}, problem.Field(f("debtor"), "or monitor_id is required: who owes the amount")
		}
	}
	if len(toScore) > MaxScored {
		return Result{}, problem.Field("receivables", "name at most %d debtors by their data per call (monitors are not limited)", MaxScored)
	}
	// Monitors: read, never charged.
	for i, id := range monitorOf {
		m, err := s.monitors.Get(ctx, c.Principal, id)
		if problem.CodeOf(err) == problem.NotFound {
			return Result{}, problem.Field(fmt.Sprintf("receivables[%d].monitor_id", i), "names no monitor of this environment")
		}
		if err != nil {
			return Result{}, err
		}
		rs[i].Debtor = Debtor{CompanyID: m.CompanyID, DecisionID: m.LastDecisionID, Score: m.Score, PD12m: m.PD12m, Grade: m.Grade,
			Recommendation: m.Recommendation, Proceeding: m.Grade == scoring.DefaultGrade, Source: "monitor"}
	}
	// Debtors by their data: a recent decision, else a scoring call.
	charged := 0
	resolved := map[*debtorToScore]Debtor{}
	for _, d := range toScore {
		if !d.hasData {
			latest, err := s.scores.Latest(ctx, c.Principal, d.companyID, s.clock.Now().Add(-Fresh))
			if err != nil {
				return Result{}, err
			}
			if latest != nil {
				resolved[d] = Debtor{CompanyID: d.companyID, DecisionID: latest.ID, Score: latest.Score, PD12m: latest.PD12m,
					Grade: latest.Grade, Recommendation: latest.Recommendation, Proceeding: latest.Grade == scoring.DefaultGrade, Source: "decision"}
				continue
			}
		}
		sum := sha256.Sum256(append([]byte(c.IdempotencyKey+"\x00"), d.body...))
		ans, err := s.scores.Score(ctx, scores.Call{Principal: c.Principal, Body: d.body, Language: c.Language, RequestID: c.RequestID,
			IdempotencyKey: "rf-collections-" + hex.EncodeToString(sum[:16]), Started: time.Now()})
		if err != nil {
			return Result{}, prefixed(err, fmt.Sprintf("receivables[%d].debtor", d.index), in.Receivables[d.index].ID)
		}
		var a struct {
			ID             string  `json:"id"`
			Score          int     `json:"score"`
			PD12m          float64 `json:"pd_12m"`
			Grade          string  `json:"grade"`
			Recommendation string  `json:"recommendation"`
		}
		if err := json.Unmarshal(ans.Body, &a); err != nil {
			return Result{}, fmt.Errorf("read the scoring answer of %s: %w", d.companyID, err)
		}
		if !ans.Replayed && c.Principal.Environment == keys.Live {
			charged++
		}
		resolved[d] = Debtor{CompanyID: d.companyID, DecisionID: a.ID, Score: a.Score, PD12m: a.PD12m, Grade: a.Grade,
			Recommendation: a.Recommendation, Proceeding: a.Grade == scoring.DefaultGrade, Source: "scored"}
	}
	for i, d := range debtorOf {
		rs[i].Debtor = resolved[d]
	}
	return Result{AsOf: asOf, Ranked: Rank(rs, asOf, s.declinePD), Charged: charged}, nil
}

// hasData reports whether a debtor was sent with anything to score beyond its identity.
func hasData(r scoring.Request) bool {
	p := r.Payments
	return len(r.Financials) > 0 || (r.Bank != nil && len(r.Bank.Months) > 0) || len(r.LegalEvents) > 0 ||
		(p != nil && (p.DaysBeyondTermsAvg != nil || p.Incidents12m != nil || p.LateInvoiceRatio != nil))
}

// prefixed puts a debtor's errors under its field in the body, and names the receivable.
func prefixed(err error, field, id string) error {
	pe := problem.As(err)
	if pe == nil {
		return err
	}
	out := &problem.Error{Code: pe.Code, Detail: fmt.Sprintf("receivable %s: %s", id, pe.Detail), RetryAfter: pe.RetryAfter}
	for _, fe := range pe.Fields {
		name := field + "." + fe.Field
		if fe.Field == "body" {
			name = field
		}
		out.Fields = append(out.Fields, problem.FieldError{Field: name, Message: fe.Message})
	}
	if len(out.Fields) > 0 && out.Detail == fmt.Sprintf("receivable %s: ", id) {
		out.Detail = "receivable " + id + ": invalid debtor"
	}
	return out
}

// minor turns major units of cur into minor units, rounded to the nearest.
func minor(v float64, cur string) int64 {
	return int64(math.Round(v * math.Pow10(scoring.MinorUnits(cur))))
}

// reason says, in words, why a receivable ranks where it does and what to do.
func reason(r Ranked) string {
	var b strings.Builder
	switch {
	case r.DaysPastDue > 0:
		fmt.Fprintf(&b, "%d days past due", r.DaysPastDue)
	case r.DaysPastDue == 0:
		b.WriteString("due today")
	default:
		fmt.Fprintf(&b, "due in %d days", -r.DaysPastDue)
	}
	d := r.Debtor
	if d.Proceeding {
		b.WriteString("; the debtor is in collective proceedings: file the claim with the administrator")
	} else {
		fmt.Fprintf(&b, "; debtor grade %s, 12-month PD %.2f%%, recommendation %s", d.Grade, d.PD12m*100, d.Recommendation)
	}
	fmt.Fprintf(&b, "; expected loss = PD × %.2f %s × LGD %.0f%%", r.Amount, r.Currency, r.LGD*100)
	if r.Escalated && !d.Proceeding {
		b.WriteString("; action one step further: RocketFin would decline this debtor")
	}
	return b.String()
}
