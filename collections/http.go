package collections

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/keys"
)

// DebtorView is what the ranking used of a debtor.
type DebtorView struct {
	CompanyID      string  `json:"company_id"`
	DecisionID     string  `json:"decision_id"`
	Score          int     `json:"score"`
	PD12m          float64 `json:"pd_12m"`
	Grade          string  `json:"grade"`
	Recommendation string  `json:"recommendation"`
	Source         string  `json:"source"`
}

// RankedView is one receivable of the answer.
type RankedView struct {
	ID           string      `json:"id"`
	Rank         int         `json:"rank"`
	Amount       money.Money `json:"amount"`
	DueDate      string      `json:"due_date"`
	DaysPastDue  int         `json:"days_past_due"`
	LGD          float64     `json:"lgd"`
	ExpectedLoss money.Money `json:"expected_loss"`
	Action       string      `json:"action"`
	Escalated    bool        `json:"escalated"`
	Reason       string      `json:"reason"`
	Debtor       DebtorView  `json:"debtor"`
}

// View is the answer of POST /v1/collections/prioritize.
type View struct {
	Object string `json:"object"`
	AsOf   string `json:"as_of"`
	// AnalysesCharged counts the live scoring calls this ranking charged.
	AnalysesCharged int          `json:"analyses_charged"`
	Data            []RankedView `json:"data"`
}

// NewView shows a ranking.
func NewView(r Result) View {
	v := View{Object: "collection_priorities", AsOf: r.AsOf.Format("2006-01-02"), AnalysesCharged: r.Charged, Data: make([]RankedView, len(r.Ranked))}
	for i, x := range r.Ranked {
		d := x.Debtor
		v.Data[i] = RankedView{ID: x.ID, Rank: x.Rank, Amount: money.Money{Amount: minor(x.Amount, x.Currency), Currency: x.Currency},
			DueDate: x.Due.Format("2006-01-02"), DaysPastDue: x.DaysPastDue, LGD: x.LGD,
			ExpectedLoss: money.Money{Amount: minor(x.ExpectedLoss, x.Currency), Currency: x.Currency}, Action: x.Action,
			Escalated: x.Escalated, Reason: reason(x),
			Debtor: DebtorView{CompanyID: d.CompanyID, DecisionID: d.DecisionID, Score: d.Score, PD12m: d.PD12m, Grade: d.Grade,
				Recommendation: d.Recommendation, Source: d.Source}}
	}
	return v
}

// Routes mounts POST /v1/collections/prioritize.
func (s *Service) Routes(r httpx.Routes) {
	r.Authed.POST("/collections/prioritize", s.handlePrioritize)
}

func (s *Service) handlePrioritize(c *gin.Context) {
	var in Input
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	res, err := s.Prioritize(c.Request.Context(), Call{Principal: keys.PrincipalOf(c), Input: in,
		IdempotencyKey: c.GetHeader("Idempotency-Key"), Language: c.GetHeader("Accept-Language"), RequestID: httpx.RequestID(c)})
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(res))
}
