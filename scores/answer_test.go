package scores

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/scoring"
)

func TestSplicedAnswerIsTheEncodedScoreView(t *testing.T) {
	result := scoring.Result{
		Score: 612, PD12m: 0.0123, Grade: "BBB", Recommendation: "accept",
		CreditLimit:  scoring.Money{Amount: 5000000, Currency: "EUR"},
		Reasons:      []scoring.Reason{{Code: "LEVERAGE", Impact: -12, Text: "Debt <high> & rising"}},
		ModelVersion: "m", Justification: "ok",
	}
	view := ScoreView{scoreHead: scoreHead{ID: "sc_1", Object: "score", Environment: "live", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Company: CompanyRef{ID: "FR-1", Name: "Ça & Co"}, Metadata: metadata.Metadata{"crm": "<1>"}}, Result: result}
	head, _ := json.Marshal(view.scoreHead)
	output, _ := json.Marshal(result)
	for _, credits := range []*int64{nil, ptr(int64(3))} {
		view.CreditsRemaining = credits
		want, _ := json.Marshal(view)
		if got := spliceAnswer(head, output, credits); string(got) != string(want) {
			t.Fatalf("spliced answer\n%s\nwant\n%s", got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
