package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/rocketfin/rocketfin/scoring/polish"
)

// TestEveryRebuiltPolishStatementIsAnswered posts firms of the bankruptcy
// data set, rebuilt with its README's mapping (the way outside checks
// build unseen firms), to the live API: PLN, id_type "other", no sector,
// statements that do not balance. Each must be a 200 with a usable answer,
// and the bankrupt firms must on average carry the higher PD.
func TestEveryRebuiltPolishStatementIsAnswered(t *testing.T) {
	path := filepath.Join("..", "..", "scoring", "polish", "testdata", "1year.arff")
	ds, err := polish.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, nil)
	a := s.signup("pl@polish.example")
	s.unlimit(a.TenantID)
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)

	var pdBankrupt, pdHealthy float64
	var nBankrupt, nHealthy int
	// The file is sorted by class: take every 35th row, which spans both classes.
	for i := 0; i < len(ds.Rows); i += 35 {
		req := polish.ToRequest(&ds.Rows[i], ds.IDs[i])
		r := s.do("POST", "/v1/scores", a.Live, req)
		if r.Status != http.StatusOK {
			t.Fatalf("row %d answered %d: %s", i, r.Status, r.Raw)
		}
		pd, ok := r.Body["pd_12m"].(float64)
		if !ok || pd <= 0 || pd > 1 || r.str("recommendation") == "" {
			t.Fatalf("row %d: answer %s", i, r.Raw)
		}
		if ds.Rows[i].Bankrupt {
			pdBankrupt += pd
			nBankrupt++
		} else {
			pdHealthy += pd
			nHealthy++
		}
	}
	if nBankrupt == 0 || nHealthy == 0 {
		t.Fatalf("sample holds %d bankrupt and %d healthy rows", nBankrupt, nHealthy)
	}
	if pdBankrupt/float64(nBankrupt) <= pdHealthy/float64(nHealthy) {
		t.Fatalf("mean PD of bankrupt firms %.4f is not above that of the others %.4f",
			pdBankrupt/float64(nBankrupt), pdHealthy/float64(nHealthy))
	}
}
