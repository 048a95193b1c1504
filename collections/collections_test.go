package collections

import (
	"math"
	"testing"
	"time"
)

var asOf = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func due(daysAgo int) time.Time { return asOf.AddDate(0, 0, -daysAgo) }

func TestLGDRisesWithAge(t *testing.T) {
	for _, c := range []struct {
		dpd  int
		want float64
	}{{-30, 0.10}, {0, 0.10}, {1, 0.20}, {30, 0.20}, {31, 0.35}, {90, 0.35}, {91, 0.55}, {180, 0.55}, {181, 0.75}, {365, 0.75}, {366, 0.90}, {5000, 0.90}} {
		if got := LGD(c.dpd); got != c.want {
			t.Errorf("LGD(%d) = %v, want %v", c.dpd, got, c.want)
		}
	}
	for d := -10; d < 1000; d++ {
		if LGD(d+1) < LGD(d) {
			t.Fatalf("LGD falls from %d to %d days", d, d+1)
		}
	}
}

// TestRankingTable: the expected loss, rank and action of each receivable of a small book.
func TestRankingTable(t *testing.T) {
	sound := Debtor{CompanyID: "A", PD12m: 0.01, Grade: "R3", Recommendation: "accept"}
	risky := Debtor{CompanyID: "B", PD12m: 0.20, Grade: "R7", Recommendation: "decline"}
	bankrupt := Debtor{CompanyID: "C", PD12m: 1, Grade: "D", Recommendation: "decline", Proceeding: true}
	book := []Receivable{
		{ID: "small-old-sound", Amount: 1000, Currency: "EUR", Due: due(200), Debtor: sound},  // 0.01×1000×0.75 = 7.5
		{ID: "big-new-sound", Amount: 100000, Currency: "EUR", Due: due(-10), Debtor: sound},  // 0.01×100000×0.10 = 100
		{ID: "mid-late-risky", Amount: 5000, Currency: "EUR", Due: due(40), Debtor: risky},    // 0.20×5000×0.35 = 350
		{ID: "bankrupt", Amount: 2000, Currency: "EUR", Due: due(10), Debtor: bankrupt},       // 1×2000×0.20 = 400
		{ID: "risky-not-due", Amount: 5000, Currency: "EUR", Due: due(-5), Debtor: risky},     // 0.20×5000×0.10 = 100
		{ID: "sound-just-late", Amount: 3000, Currency: "EUR", Due: due(3), Debtor: sound},    // 0.01×3000×0.20 = 6
		{ID: "sound-long-late", Amount: 50000, Currency: "EUR", Due: due(100), Debtor: sound}, // 0.01×50000×0.55 = 275
		{ID: "risky-very-late", Amount: 800, Currency: "EUR", Due: due(400), Debtor: risky},   // 0.20×800×0.90 = 144
	}
	want := []struct {
		id     string
		el     float64
		action string
	}{
		{"bankrupt", 400, ActionLegal},
		{"mid-late-risky", 350, ActionFormalNotice}, // call, one step further: a declined debtor
		{"sound-long-late", 275, ActionCollectionAgency},
		{"risky-very-late", 144, ActionLegal},
		{"risky-not-due", 100, ActionReminder}, // not yet due: no escalation; ties with big-new-sound, due sooner
		{"big-new-sound", 100, ActionReminder},
		{"small-old-sound", 7.5, ActionLegal},
		{"sound-just-late", 6, ActionReminder},
	}
	got := Rank(book, asOf, 0.08)
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || math.Abs(g.ExpectedLoss-w.el) > 1e-6 || g.Action != w.action || g.Rank != i+1 {
			t.Errorf("rank %d: got %s (EL %v, %s), want %s (EL %v, %s)", i+1, g.ID, g.ExpectedLoss, g.Action, w.id, w.el, w.action)
		}
	}
	if !got[1].Escalated || got[2].Escalated || !got[0].Escalated {
		t.Errorf("escalations: %v %v %v", got[0].Escalated, got[1].Escalated, got[2].Escalated)
	}
}

// TestAWorseDebtorNeverRanksLower: the same receivable owed by a riskier debtor, or older, never
// has a smaller expected loss or a milder action.
func TestAWorseDebtorNeverRanksLower(t *testing.T) {
	idx := map[string]int{}
	for i, a := range actions {
		idx[a] = i
	}
	for _, dpd := range []int{-20, 0, 10, 40, 100, 200, 500} {
		prev := Ranked{}
		for i, pd := range []float64{0.001, 0.01, 0.05, 0.09, 0.3, 1} {
			r := Rank([]Receivable{{ID: "x", Amount: 1000, Currency: "EUR", Due: due(dpd), Debtor: Debtor{PD12m: pd, Proceeding: pd == 1}}}, asOf, 0.08)[0]
			if i > 0 && (r.ExpectedLoss < prev.ExpectedLoss || idx[r.Action] < idx[prev.Action]) {
				t.Errorf("%d days, PD %v: %v %s after %v %s", dpd, pd, r.ExpectedLoss, r.Action, prev.ExpectedLoss, prev.Action)
			}
			prev = r
		}
	}
}
