// Package sandbox holds RocketFin's fictitious companies: a fixed catalog that sandbox API keys
// can score for free, covering every recommendation and the awkward cases (an open collective
// proceeding, a payment incident, a thin-file start-up, missing and stale data, another
// currency). Their SIRENs pass the Luhn check but start with 99900, a range reserved here for
// tests; names and figures are invented.
package sandbox

import (
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// Company is a catalog entry as GET /v1/sandbox/companies lists it.
type Company struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Sector         string `json:"sector"` // NACE Rev. 2 code
	Recommendation string `json:"recommendation"`
	Description    string `json:"description"`
}

// EvaluationDate is the sandbox clock: the catalog's dates are set around it, and its expected
// recommendations and golden outputs hold when the engine evaluates as of this date. The scoring call
// passes it as scoring.Options.AsOf for sandbox calls, so sandbox answers never drift.
func EvaluationDate() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }

// Companies lists the catalog in a fixed order.
func Companies() []Company {
	out := make([]Company, len(catalog))
	for i, e := range catalog {
		out[i] = e.Company
	}
	return out
}

// Lookup returns the full request body of a catalog company: what a sandbox call that posts only
// company.id is scored on. Each call returns a fresh value the caller may change.
func Lookup(id string) (scoring.Request, bool) {
	for _, e := range catalog {
		if e.ID == id {
			r := e.request()
			r.Company.ID, r.Company.IDType, r.Company.Name, r.Company.Country = e.ID, "siren", e.Name, "FR"
			if r.Company.NACE == "" {
				r.Company.NACE = e.Sector
			}
			return r, true
		}
	}
	return scoring.Request{}, false
}

type entry struct {
	Company
	request func() scoring.Request
}
