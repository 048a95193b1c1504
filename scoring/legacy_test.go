package scoring_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/scoringtest"
)

// legacyResults is the SHA-256 of the JSON results that rf-ebm-1.0.0 gave, before rules 2 existed
// (commit 99867bb), on 5,000 requests of scoringtest.RandomRequest seeded (2026, 11), each in English,
// Portuguese and French, as of testDate. If RandomRequest changes, recompute it at that commit.
const legacyResults = "f4289796942a0905a6495819cab0b0656ed92263ba3a6d7852e49fe6761e7ca3"

// TestTheFirstModelStillAnswersExactlyAsItDid: every shipped model stays embedded and evaluable,
// so a decision made with rf-ebm-1.0.0 replays to the identical result.
func TestTheFirstModelStillAnswersExactlyAsItDid(t *testing.T) {
	e, err := scoring.NewVersion("rf-ebm-1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	h := sha256.New()
	for i := 0; i < 5000; i++ {
		req := scoringtest.RandomRequest(rng, testDate)
		for _, lang := range []string{"en", "pt", "fr"} {
			r, err := e.Evaluate(&req, scoring.Options{AsOf: testDate, Language: lang})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != legacyResults {
		t.Fatalf("rf-ebm-1.0.0 results hash to %s, want %s: the first model no longer answers as it did", got, legacyResults)
	}
}
