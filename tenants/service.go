package tenants

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/apiversion"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/members"
)

// Service holds the rules of tenants.
type Service struct {
	db     *gorm.DB
	store  *Store
	keys   *keys.Service
	clock  clock.Clock
	verify *verifier
	// accounts caches the live-call part of each tenant for a second (AccountTTL).
	accounts *Cache
}

// AccountTTL is how long a cached account is trusted: a revocation of live access, a spent
// trial or a new API version reaches every replica within it.
const AccountTTL = time.Second

// NewService returns the tenant service; v says how signup emails are verified.
func NewService(db *gorm.DB, k *keys.Service, clk clock.Clock, v Verification) *Service {
	if v.Log == nil {
		v.Log = slog.Default()
	}
	return &Service{db: db, store: NewStore(db), keys: k, clock: clk, verify: &verifier{Verification: v},
		accounts: NewCache(db, AccountTTL)}
}

// Accounts is the cache of accounts the scoring call's checks read.
func (s *Service) Accounts() *Cache { return s.accounts }

// SignupResult is a new tenant with its two first keys (secrets shown once).
type SignupResult struct {
	Tenant  Tenant
	Sandbox keys.Issued
	Live    keys.Issued
	// Verification is where the email check link went; nil when none is required.
	Verification *VerificationSent
}

// Signup creates a tenant in trial, its owner and one sandbox and one live
// key, all in one transaction.
func (s *Service) Signup(ctx context.Context, in SignupInput) (SignupResult, error) {
	if err := in.Validate(); err != nil {
		return SignupResult{}, err
	}
	now := s.clock.Now()
	t := Tenant{
		Account: Account{
			ID: ids.New(ids.Tenant), SignupEmailLower: strings.ToLower(in.Email), Status: StatusTrial,
			TrialEndsAt: now.Add(TrialLength), CreditsRemaining: TrialCredits, APIVersion: apiversion.Current(),
		},
		Name: in.CompanyName, Country: in.Country, Plan: "trial", CreatedAt: now, UpdatedAt: now,
	}
	owner := members.Owner(t.ID, in.Email, now)
	res := SignupResult{Tenant: t}
	var token string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.verify.Required {
			if err := s.store.ReleaseUnverifiedEmail(ctx, tx, t.SignupEmailLower, now); err != nil {
				return err
			}
		}
		if err := s.store.InsertTenant(ctx, tx, &t, &owner); err != nil {
			return err
		}
		var err error
		if s.verify.Required {
			var sent VerificationSent
			if token, sent, err = issueLink(ctx, tx, t.ID, t.SignupEmailLower, now); err != nil {
				return err
			}
			res.Verification = &sent
		}
		if res.Sandbox, err = s.keys.IssueTx(ctx, tx, t.ID, keys.Sandbox, keys.Spec{Name: "Default sandbox key"}); err != nil {
			return err
		}
		if res.Live, err = s.keys.IssueTx(ctx, tx, t.ID, keys.Live, keys.Spec{Name: "Default live key"}); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Change{TenantID: t.ID, ActorType: audit.ActorSystem, ActorID: "signup",
			Action: "tenant.created", TargetType: "tenant", TargetID: t.ID, After: NewView(t)}, now); err != nil {
			return err
		}
		for _, k := range []keys.Issued{res.Sandbox, res.Live} {
			err := audit.Record(ctx, tx, audit.Change{TenantID: t.ID, Environment: string(k.Key.Environment), ActorType: audit.ActorSystem,
				ActorID: "signup", Action: "key.created", TargetType: "api_key", TargetID: k.Key.ID, After: map[string]any{"name": k.Key.Name}}, now)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SignupResult{}, fmt.Errorf("sign up %s: %w", in.CompanyName, err)
	}
	if res.Verification != nil {
		s.verify.send(ctx, t, token, *res.Verification)
	}
	return res, nil
}

// Get returns a tenant.
func (s *Service) Get(ctx context.Context, id string) (Tenant, error) {
	if !ids.Valid(ids.Tenant, id) {
		return Tenant{}, problem.New(problem.NotFound, "no tenant %s", id)
	}
	return s.store.Get(ctx, id)
}

// Patch applies an operator's change to a tenant.
func (s *Service) Patch(ctx context.Context, id string, in PatchInput) (Tenant, error) {
	if err := in.Validate(); err != nil {
		return Tenant{}, err
	}
	if !ids.Valid(ids.Tenant, id) {
		return Tenant{}, problem.New(problem.NotFound, "no tenant %s", id)
	}
	cols := map[string]any{"updated_at": s.clock.Now()}
	if in.TrialEndsAt != nil {
		cols["trial_ends_at"] = in.TrialEndsAt.UTC()
	}
	if in.CreditsRemaining != nil {
		cols["credits_remaining"] = *in.CreditsRemaining
	}
	if in.Status != nil {
		cols["status"] = *in.Status
	}
	if in.EmailVerified != nil {
		cols["email_verified_at"] = nil
		if *in.EmailVerified {
			cols["email_verified_at"] = gorm.Expr("COALESCE(email_verified_at, ?)", s.clock.Now())
		}
	}
	if in.RateLimit != nil {
		cols["rate_limit_per_second"] = in.RateLimit.PerSecond
		cols["rate_limit_burst"] = in.RateLimit.Burst
	}
	return s.updateAudited(ctx, id, cols, audit.Change{ActorType: audit.ActorOperator, ActorID: "operator", Action: "tenant.updated_by_operator"})
}

// SetMonthlyCap sets (or, with nil, removes) the tenant's monthly spend
// cap for metered live calls. Only a live credential may change billing.
func (s *Service) SetMonthlyCap(ctx context.Context, p keys.Principal, in SettingsInput, currency string) (Tenant, error) {
	if p.Environment != keys.Live {
		return Tenant{}, problem.New(problem.Forbidden, "billing settings are changed with a live key")
	}
	cols := map[string]any{"updated_at": s.clock.Now()}
	switch raw := strings.TrimSpace(string(in.MonthlyCap)); raw {
	case "":
		return s.store.Get(ctx, p.TenantID)
	case "null":
		cols["monthly_cap_amount"], cols["monthly_cap_currency"] = nil, nil
	default:
		var want struct {
			Amount   *int64 `json:"amount"`
			Currency string `json:"currency"`
		}
		if err := httpx.DecodeBytes([]byte(raw), &want); err != nil {
			return Tenant{}, prefixFields(err, "monthly_cap.")
		}
		if want.Amount == nil {
			return Tenant{}, problem.Field("monthly_cap.amount", "is required (minor units); send \"monthly_cap\": null to remove the cap")
		}
		if *want.Amount < 0 || *want.Amount > 1_000_000_000_00 {
			return Tenant{}, problem.Field("monthly_cap.amount", "must be from 0 to 100000000000 minor units")
		}
		if want.Currency != currency {
			return Tenant{}, problem.Field("monthly_cap.currency", "must be %s, the currency RocketFin bills in", currency)
		}
		t, err := s.store.Get(ctx, p.TenantID)
		if err != nil {
			return Tenant{}, err
		}
		if !t.Status.Metered() {
			return Tenant{}, problem.New(problem.Conflict, "a monthly cap applies to a subscribed (metered) tenant; this one is %s", t.Status)
		}
		cols["monthly_cap_amount"], cols["monthly_cap_currency"] = *want.Amount, want.Currency
	}
	return s.updateAudited(ctx, p.TenantID, cols, audit.Change{ActorType: p.ActorType(), ActorID: p.CredentialID, Action: "tenant.monthly_cap_set"})
}

// updateAudited writes the columns of a tenant and the audit event of the change (the tenant as
// it was and as it is), in one transaction, and returns the tenant as it is.
func (s *Service) updateAudited(ctx context.Context, id string, cols map[string]any, change audit.Change) (Tenant, error) {
	var after Tenant
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := NewStore(tx)
		before, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := st.Update(ctx, id, cols); err != nil {
			return err
		}
		if after, err = st.Get(ctx, id); err != nil {
			return err
		}
		change.TenantID, change.TargetType, change.TargetID = id, "tenant", id
		change.Before, change.After = NewView(before), NewView(after)
		return audit.Record(ctx, tx, change, s.clock.Now())
	})
	return after, err
}

// prefixFields puts the path of a nested object before field names.
func prefixFields(err error, prefix string) error {
	pe := problem.As(err)
	if pe == nil {
		return err
	}
	out := *pe
	out.Fields = make([]problem.FieldError, len(pe.Fields))
	for i, f := range pe.Fields {
		out.Fields[i] = problem.FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	if len(out.Fields) > 0 {
		out.Detail = out.Fields[0].Field + ": " + out.Fields[0].Message
	}
	return &out
}

// View is a tenant as the API shows it.
type View struct {
	ID               string       `json:"id"`
	Object           string       `json:"object"`
	Name             string       `json:"name"`
	Country          string       `json:"country"`
	Status           Status       `json:"status"`
	Plan             string       `json:"plan"`
	TrialEndsAt      time.Time    `json:"trial_ends_at"`
	CreditsRemaining int64        `json:"credits_remaining"`
	CreatedAt        time.Time    `json:"created_at"`
	Environment      string       `json:"environment,omitempty"`
	RateLimit        *RateLimit   `json:"rate_limit,omitempty"`
	MonthlyCap       *money.Money `json:"monthly_cap"`
	EmailVerified    bool         `json:"email_verified"`
	APIVersion       string       `json:"api_version"`
}

// NewView shows a tenant.
func NewView(t Tenant) View {
	v := View{
		ID: t.ID, Object: "tenant", Name: t.Name, Country: t.Country, Status: t.Status, Plan: t.Plan,
		TrialEndsAt: t.TrialEndsAt.UTC(), CreditsRemaining: t.CreditsRemaining, CreatedAt: t.CreatedAt.UTC(),
		EmailVerified: t.EmailVerifiedAt != nil, APIVersion: t.APIVersion,
	}
	if t.RateLimitPerSecond != nil && t.RateLimitBurst != nil {
		v.RateLimit = &RateLimit{PerSecond: *t.RateLimitPerSecond, Burst: *t.RateLimitBurst}
	}
	if t.MonthlyCapAmount != nil && t.MonthlyCapCurrency != nil {
		v.MonthlyCap = &money.Money{Amount: *t.MonthlyCapAmount, Currency: *t.MonthlyCapCurrency}
	}
	return v
}
