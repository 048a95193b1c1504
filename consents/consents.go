// Package consents records the consents that let a tenant score personal
// or bank data (GDPR): bank data, or a sole trader, may be scored only
// while an active consent for that company covers it. Consents belong to a
// tenant and an environment; a withdrawn or expired one no longer counts.
package consents

import (
	"strconv"
	"strings"
	"time"

	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
)

// Scopes a consent can cover.
const (
	// ScopeBankData allows scoring the company's bank account flows.
	ScopeBankData = "bank_data"
	// ScopePersonalData allows scoring a natural person (a sole trader).
	// Any active consent for the company covers it: whoever consented to
	// be scored, with or without bank data, consented as that person.
	ScopePersonalData = "personal_data"
)

// MaxDuration is the longest a consent may last; DefaultDuration is its
// term when the request names none.
const (
	MaxDuration     = 3 * 365 * 24 * time.Hour
	DefaultDuration = 365 * 24 * time.Hour
)

// Consent is one recorded consent.
type Consent struct {
	ID          string `gorm:"primaryKey"`
	TenantID    string
	Environment string
	CompanyID   string
	Scopes      string // comma-separated
	Evidence    string
	KeyID       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	WithdrawnAt *time.Time
	Metadata    string // JSON text, see internal/metadata
}

// ScopeList returns the scopes as a list.
func (c Consent) ScopeList() []string { return strings.Split(c.Scopes, ",") }

// Covers reports whether the consent is active at now and covers every scope.
func (c Consent) Covers(scopes []string, now time.Time) bool {
	if c.WithdrawnAt != nil || !now.Before(c.ExpiresAt) {
		return false
	}
	have := c.ScopeList()
	for _, s := range scopes {
		if s == ScopePersonalData {
			continue
		}
		found := false
		for _, h := range have {
			found = found || h == s
		}
		if !found {
			return false
		}
	}
	return true
}

// Status is active, expired or withdrawn at now.
func (c Consent) Status(now time.Time) string {
	switch {
	case c.WithdrawnAt != nil:
		return "withdrawn"
	case !now.Before(c.ExpiresAt):
		return "expired"
	default:
		return "active"
	}
}

// CreateInput is the body of POST /v1/consents.
type CreateInput struct {
	CompanyID string            `json:"company_id"`
	Scopes    []string          `json:"scopes"`
	Evidence  string            `json:"evidence"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Metadata  metadata.Metadata `json:"metadata"`
}

// Validate checks the input at now.
func (in *CreateInput) Validate(now time.Time) error {
	var fields []problem.FieldError
	in.CompanyID = strings.TrimSpace(in.CompanyID)
	in.Evidence = strings.TrimSpace(in.Evidence)
	if in.CompanyID == "" || len(in.CompanyID) > 64 {
		fields = append(fields, problem.FieldError{Field: "company_id", Message: "is required, at most 64 characters"})
	} else if msg := valid.TextProblem(in.CompanyID); msg != "" {
		fields = append(fields, problem.FieldError{Field: "company_id", Message: msg})
	}
	if len(in.Scopes) == 0 {
		fields = append(fields, problem.FieldError{Field: "scopes", Message: "name at least one of bank_data, personal_data"})
	}
	seen := map[string]bool{}
	for i, s := range in.Scopes {
		if s != ScopeBankData && s != ScopePersonalData {
			fields = append(fields, problem.FieldError{Field: "scopes[" + strconv.Itoa(i) + "]", Message: "must be bank_data or personal_data"})
		}
		if seen[s] {
			fields = append(fields, problem.FieldError{Field: "scopes[" + strconv.Itoa(i) + "]", Message: "is repeated"})
		}
		seen[s] = true
	}
	if in.Evidence == "" || len(in.Evidence) > 2000 {
		fields = append(fields, problem.FieldError{Field: "evidence", Message: "is required (how consent was given: a signed form reference, a URL, a timestamped record), at most 2000 characters"})
	}
	switch {
	case in.ExpiresAt == nil:
		until := now.Add(DefaultDuration)
		in.ExpiresAt = &until
	case !in.ExpiresAt.After(now):
		fields = append(fields, problem.FieldError{Field: "expires_at", Message: "must be in the future"})
	case in.ExpiresAt.Sub(now) > MaxDuration:
		fields = append(fields, problem.FieldError{Field: "expires_at", Message: "must be within 3 years"})
	}
	if err := in.Metadata.Validate("metadata"); err != nil {
		fields = append(fields, problem.As(err).Fields...)
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

// NaturalPerson reports whether a legal form is a sole trader's: its data is a person's, and
// scoring it needs a consent covering personal_data.
func NaturalPerson(legalForm string) bool {
	switch strings.ToLower(strings.TrimSpace(legalForm)) {
	case "ei", "sole_trader", "eirl", "micro_entrepreneur", "auto_entrepreneur", "eni", "sole_proprietor":
		return true
	}
	return false
}
