package scoring

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzEvaluate feeds arbitrary JSON bodies and Accept-Language values to the engine: it must
// never panic, and whatever it accepts must come back within range. The seeds run with every
// plain `go test`; `go test -fuzz FuzzEvaluate ./scoring` explores further.
func FuzzEvaluate(f *testing.F) {
	healthy, err := json.Marshal(healthyRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(healthy, "en")
	f.Add([]byte(`{"company":{"id":"x"}}`), "pt-BR,pt;q=0.9")
	f.Add([]byte(`{"company":{"id":"PL-1","id_type":"other","country":"PL"},"financials":[{"period_end":"2011-12-31","currency":"PLN","total_assets":1000,"total_liabilities":-5,"equity":0,"revenue":0,"current_liabilities":0,"cash":-3}]}`), "fr")
	f.Add([]byte(`{"company":{"id":"1","incorporated_on":"2030-01-01"},"bank":{"months":[{"month":"2025-01","inflows":0,"outflows":0},{"month":"2025-02","inflows":0,"outflows":5},{"month":"2025-03"}]},"legal_events":[{"type":"collective_proceeding","date":"2026-01-01"}]}`), "*")
	f.Add([]byte(`{"company":{"id":"1"},"request":{"amount":1e14,"currency":"KWD","terms_days":3650},"financials":[{"period_end":"2024-12-31","currency":"XBT","equity":1e14,"revenue":1e14,"current_assets":1e14,"current_liabilities":1e-300}]}`), ";q=,,")
	f.Add([]byte(`{"company":{"id":"1"},"payments":{"days_beyond_terms_avg":-3650,"incidents_12m":10000,"late_invoice_ratio":1}}`), "en;q=abc")
	f.Fuzz(func(t *testing.T, body []byte, lang string) {
		var req Request
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		r, err := fuzzEngine.Evaluate(&req, Options{AsOf: testDate, Language: lang})
		if err != nil {
			var ve ValidationErrors
			if !errors.As(err, &ve) || len(ve) == 0 {
				t.Fatalf("error %v is not a ValidationErrors", err)
			}
			return
		}
		if !(r.PD12m > 0 && r.PD12m <= 1) || r.Score < 0 || r.Score > 1000 || r.CreditLimit.Amount < 0 || r.Justification == "" {
			t.Fatalf("out of range: %+v", r)
		}
	})
}

var fuzzEngine = func() *Engine {
	e, err := New()
	if err != nil {
		panic(err) // the embedded model is part of the binary: failing to load it is a build defect
	}
	return e
}()
