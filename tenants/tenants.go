// Package tenants owns RocketFin's customers: self-service signup into a
// 14-day trial with live analysis credits (its owner recorded as a member: package members),
// the account lifecycle (trial → active → past_due → suspended → canceled)
// and the operator API support staff use to extend trials, grant credits
// and suspend or reactivate accounts.
package tenants

import (
	"encoding/json"
	"net/mail"
	"strings"
	"time"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
)

// Trial terms of a new tenant.
const (
	TrialLength  = 14 * 24 * time.Hour
	TrialCredits = 5
)

// Tenant is one customer account: the row of the tenants table, whose live-call part is its
// Account.
type Tenant struct {
	Account
	Name      string
	Country   string
	Plan      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SignupInput is the body of POST /v1/signup.
type SignupInput struct {
	CompanyName string `json:"company_name"`
	Email       string `json:"email"`
	Country     string `json:"country"`
}

// Validate checks the input and normalises it in place.
func (in *SignupInput) Validate() error {
	var fields []problem.FieldError
	in.CompanyName = strings.TrimSpace(in.CompanyName)
	in.Email = strings.TrimSpace(in.Email)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	switch {
	case in.CompanyName == "":
		fields = append(fields, problem.FieldError{Field: "company_name", Message: "is required"})
	case len(in.CompanyName) > 200:
		fields = append(fields, problem.FieldError{Field: "company_name", Message: "must be at most 200 characters"})
	default:
		if msg := valid.TextProblem(in.CompanyName); msg != "" {
			fields = append(fields, problem.FieldError{Field: "company_name", Message: msg})
		}
	}
	if in.Email == "" {
		fields = append(fields, problem.FieldError{Field: "email", Message: "is required"})
	} else if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 || !strings.Contains(in.Email[strings.LastIndex(in.Email, "@"):], ".") {
		fields = append(fields, problem.FieldError{Field: "email", Message: "must be a plain email address such as ana@example.com"})
	}
	if !valid.Country(in.Country) {
		fields = append(fields, problem.FieldError{Field: "country", Message: "must be an ISO 3166-1 alpha-2 code such as PT or FR"})
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

// RateLimit is a tenant's own request rate for scoring calls.
type RateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// PatchInput is the body of PATCH /admin/v1/tenants/{id}; absent fields
// are left as they are.
type PatchInput struct {
	TrialEndsAt      *time.Time `json:"trial_ends_at"`
	CreditsRemaining *int64     `json:"credits_remaining"`
	Status           *Status    `json:"status"`
	RateLimit        *RateLimit `json:"rate_limit"`
	// EmailVerified lets support staff confirm (or withdraw) the signup email by hand.
	EmailVerified *bool `json:"email_verified"`
}

// Validate checks a patch.
func (in PatchInput) Validate() error {
	var fields []problem.FieldError
	if in.CreditsRemaining != nil && (*in.CreditsRemaining < 0 || *in.CreditsRemaining > 1_000_000_000) {
		fields = append(fields, problem.FieldError{Field: "credits_remaining", Message: "must be from 0 to 1000000000"})
	}
	if in.Status != nil && !in.Status.Valid() {
		fields = append(fields, problem.FieldError{Field: "status", Message: "must be one of trial, active, past_due, suspended, canceled"})
	}
	if in.RateLimit != nil {
		// At least one request in about 17 minutes: a smaller rate would make the RateLimit window
		// and Retry-After overflow any integer a client can read.
		if !(in.RateLimit.PerSecond >= 0.001 && in.RateLimit.PerSecond <= 100_000) {
			fields = append(fields, problem.FieldError{Field: "rate_limit.per_second", Message: "must be from 0.001 to 100000"})
		}
		if in.RateLimit.Burst < 1 || in.RateLimit.Burst > 1_000_000 {
			fields = append(fields, problem.FieldError{Field: "rate_limit.burst", Message: "must be from 1 to 1000000"})
		}
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

// SettingsInput is the body of PATCH /v1/tenant. MonthlyCap is raw so that
// an explicit null (remove the cap) differs from an absent field.
type SettingsInput struct {
	MonthlyCap json.RawMessage `json:"monthly_cap"`
}
