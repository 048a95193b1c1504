package sandbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files from the engine's output")

func engine(t *testing.T) *scoring.Engine {
	t.Helper()
	e, err := scoring.New()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func evaluate(t *testing.T, e *scoring.Engine, id string) scoring.Result {
	t.Helper()
	req, ok := Lookup(id)
	if !ok {
		t.Fatalf("Lookup(%s) found nothing", id)
	}
	r, err := e.Evaluate(&req, scoring.Options{AsOf: EvaluationDate()})
	if err != nil {
		t.Fatalf("Evaluate(%s): %v", id, err)
	}
	return r
}

func TestEachCompanyGetsItsExpectedRecommendation(t *testing.T) {
	e := engine(t)
	for _, c := range Companies() {
		if r := evaluate(t, e, c.ID); r.Recommendation != c.Recommendation {
			t.Errorf("%s (%s): engine says %s (score %d, pd %v), catalog expects %s", c.ID, c.Name, r.Recommendation, r.Score, r.PD12m, c.Recommendation)
		}
	}
}

// TestEngineOutputMatchesTheGoldenFiles compares every catalog company's result, for every
// embedded model version, with testdata/<version>/<id>.golden.json: the current model's answers
// change only on purpose, and an earlier model's answers never change.
func TestEngineOutputMatchesTheGoldenFiles(t *testing.T) {
	for _, v := range scoring.Versions() {
		e, err := scoring.NewVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range Companies() {
			t.Run(v+"/"+c.ID, func(t *testing.T) {
				got, err := json.MarshalIndent(evaluate(t, e, c.ID), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				path := filepath.Join("testdata", v, c.ID+".golden.json")
				if *update && v == scoring.ModelName {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (run go test ./sandbox -update to create the current model's): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s (%s) differs from %s; if the change is intended, run go test ./sandbox -update\ngot:\n%s", c.ID, c.Name, path, got)
				}
			})
		}
	}
}

func TestCatalogCoversTheCasesItPromises(t *testing.T) {
	cs := Companies()
	if len(cs) < 20 {
		t.Errorf("%d companies, want at least 20", len(cs))
	}
	recs := map[string]bool{}
	var proceeding, incident, thinFile, missing bool
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.ID] {
			t.Errorf("id %s repeats", c.ID)
		}
		seen[c.ID] = true
		if c.Name == "" || c.Sector == "" || c.Description == "" {
			t.Errorf("%s: name, sector and description are required: %+v", c.ID, c)
		}
		recs[c.Recommendation] = true
		req, _ := Lookup(c.ID)
		if err := req.Validate(); err != nil {
			t.Errorf("%s: catalog request is invalid: %v", c.ID, err)
		}
		for _, ev := range req.LegalEvents {
			switch {
			case ev.Type == scoring.EventCollectiveProceeding && ev.EndedOn == "":
				proceeding = true
			case ev.Type == scoring.EventPaymentIncident:
				incident = true
			}
		}
		if len(req.Financials) == 0 && req.Company.IncorporatedOn > "2025-06-30" {
			thinFile = true
		}
		for _, s := range req.Financials {
			if s.InterestExpense == nil || s.Inventory == nil {
				missing = true
			}
		}
	}
	for _, r := range []string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline} {
		if !recs[r] {
			t.Errorf("no company is expected to get %s", r)
		}
	}
	if !proceeding || !incident || !thinFile || !missing {
		t.Errorf("open proceeding %v, payment incident %v, thin-file start-up %v, missing data %v: want all", proceeding, incident, thinFile, missing)
	}
}

func TestSirensAreValidTestValues(t *testing.T) {
	for _, c := range Companies() {
		if len(c.ID) != 9 || !strings.HasPrefix(c.ID, "99900") || !luhn(c.ID) {
			t.Errorf("%s: want 9 digits starting 99900 that pass the Luhn check", c.ID)
		}
	}
}

func TestLookupReturnsAFreshRequest(t *testing.T) {
	id := Companies()[0].ID
	a, _ := Lookup(id)
	a.Financials[0].Currency = "changed"
	a.Company.Name = "changed"
	b, _ := Lookup(id)
	if b.Financials[0].Currency != "EUR" || b.Company.Name == "changed" {
		t.Errorf("a change to one lookup leaked into the next: %+v", b.Company)
	}
	if _, ok := Lookup("123456789"); ok {
		t.Error("Lookup of an unknown id found a company")
	}
}

func luhn(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
