package fit

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/scoringtest"
)

func TestDbgEdge(t *testing.T) {
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(20261130, 17))
	e, _ := scoring.New()
	pi := 4
	fmt.Sscan(os.Getenv("PROP"), &pi)
	for i := 0; i < 3000; i++ {
		r := scoringtest.EdgeRequest(rng, asOf)
		if r.Company.ID != os.Getenv("ID") {
			continue
		}
		v := Properties[pi].Variants(&r)[0]
		js, _ := json.Marshal(r.Financials)
		fmt.Println(string(js))
		xb := scoring.ModelFeatures(r.Financials, 2)
		xa := scoring.ModelFeatures(v.Financials, 2)
		m := e.Model()
		for k, s := range m.Shapes {
			f := m.Feature(k)
			if cb, ca := s.Contribution(xb[f]), s.Contribution(xa[f]); cb != ca {
				fmt.Printf("  %-40s %12.5g → %12.5g   %+.3f → %+.3f\n", s.Feature, xb[f], xa[f], cb, ca)
			}
		}
	}
}
