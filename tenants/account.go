package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Status is the state of a tenant's account: trial → active → past_due → suspended → canceled.
type Status string

// Account states.
const (
	StatusTrial     Status = "trial"
	StatusActive    Status = "active"
	StatusPastDue   Status = "past_due"
	StatusSuspended Status = "suspended"
	StatusCanceled  Status = "canceled"
)

// Valid reports whether s is one of the account states.
func (s Status) Valid() bool {
	switch s {
	case StatusTrial, StatusActive, StatusPastDue, StatusSuspended, StatusCanceled:
		return true
	}
	return false
}

// Metered reports whether a tenant in state s pays per live analysis (a subscription).
func (s Status) Metered() bool { return s == StatusActive || s == StatusPastDue }

// Account is what a live call reads of its tenant, in one query: the state, the trial, the rate
// limit, the monthly cap and the email check.
type Account struct {
	ID                 string `gorm:"primaryKey"`
	Status             Status
	TrialEndsAt        time.Time
	CreditsRemaining   int64
	RateLimitPerSecond *float64
	RateLimitBurst     *int
	MonthlyCapAmount   *int64
	MonthlyCapCurrency *string
	EmailVerifiedAt    *time.Time
	SignupEmailLower   string
	// APIVersion is the RocketFin-Version the tenant's calls are served in by default.
	APIVersion string
}

// LiveRefusal is why the account may not make a live call at now, or nil: 403 email_unverified
// when requireEmail and the signup email is not verified, 402 trial_expired or credits_exhausted
// for a trial, 402 account_suspended for a suspended or canceled account. The monthly cap is the
// charging transaction's to check (CapRefusal).
func (a Account) LiveRefusal(now time.Time, requireEmail bool) error {
	if err := EmailCheck(requireEmail, a.EmailVerifiedAt, a.SignupEmailLower); err != nil {
		return err
	}
	switch {
	case a.Status == StatusTrial:
		if !now.Before(a.TrialEndsAt) {
			return problem.New(problem.TrialExpired, "the trial ended at %s; subscribe to keep scoring live", a.TrialEndsAt.UTC().Format(time.RFC3339))
		}
		if a.CreditsRemaining <= 0 {
			return problem.New(problem.CreditsExhausted, "the trial's analysis credits are spent; subscribe to keep scoring live")
		}
	case a.Status.Metered():
	default:
		return problem.New(problem.AccountSuspended, "the account is %s; live calls are refused until it is reactivated", a.Status)
	}
	return nil
}

// CapRefusal is the refusal of a metered call that the monthly cap has no room for.
func (a Account) CapRefusal() error {
	var amount int64
	currency := ""
	if a.MonthlyCapAmount != nil {
		amount = *a.MonthlyCapAmount
	}
	if a.MonthlyCapCurrency != nil {
		currency = *a.MonthlyCapCurrency
	}
	return problem.New(problem.CreditsExhausted, "the monthly spend cap of %d %s minor units is reached", amount, currency)
}

// accountColumns are what Account and Accounts read, in scanAccount's order.
const accountColumns = `id, status, trial_ends_at, credits_remaining, rate_limit_per_second, rate_limit_burst,
	monthly_cap_amount, monthly_cap_currency, email_verified_at, signup_email_lower, api_version`

func scanAccount(scan func(dest ...any) error, a *Account) error {
	return scan(&a.ID, &a.Status, &a.TrialEndsAt, &a.CreditsRemaining, &a.RateLimitPerSecond, &a.RateLimitBurst,
		&a.MonthlyCapAmount, &a.MonthlyCapCurrency, &a.EmailVerifiedAt, &a.SignupEmailLower, &a.APIVersion)
}

// Account reads the live-call view of a tenant on db (a transaction; nil reads the pool); no
// such tenant is not_found.
func (s *Store) Account(ctx context.Context, db *gorm.DB, id string) (Account, error) {
	if db == nil {
		db = s.db
	}
	a := Account{ID: id}
	// Row().Scan: this read is on every live call, and plain scanning skips the ORM's reflection.
	err := scanAccount(db.WithContext(ctx).Raw(`SELECT `+accountColumns+` FROM tenants WHERE id = ?`, id).Row().Scan, &a)
	if errors.Is(err, sql.ErrNoRows) {
		return a, problem.New(problem.NotFound, "no tenant %s", id)
	}
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", id, err)
	}
	return a, nil
}

// Accounts reads the live-call view of several tenants in one statement, by id; a tenant that
// does not exist is missing from the map.
func (s *Store) Accounts(ctx context.Context, tx *gorm.DB, ids []string) (map[string]Account, error) {
	rows, err := tx.WithContext(ctx).Raw(`SELECT `+accountColumns+` FROM tenants WHERE id IN ?`, ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("read %d accounts: %w", len(ids), err)
	}
	defer rows.Close()
	out := make(map[string]Account, len(ids))
	for rows.Next() {
		var a Account
		if err := scanAccount(rows.Scan, &a); err != nil {
			return nil, fmt.Errorf("read %d accounts: %w", len(ids), err)
		}
		out[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %d accounts: %w", len(ids), err)
	}
	return out, nil
}

// CreditAsk is how many trial credits a tenant's calls ask for.
type CreditAsk struct {
	TenantID string
	N        int64
}

// Credits is what SpendCredits took from a tenant and what it left.
type Credits struct {
	Spent, Left int64
}

// SpendCredits takes, inside tx, up to each tenant's asked credits from the trials on at now, and
// returns what it took and left, by tenant (a tenant whose trial is off is missing). It locks the
// tenants' rows in the order of their ids, reads them and writes what it took in one statement:
// concurrent transactions never spend what is not there, nor wait for each other in a circle.
func (s *Store) SpendCredits(ctx context.Context, tx *gorm.DB, asks []CreditAsk, now time.Time) (map[string]Credits, error) {
	if len(asks) == 0 {
		return nil, nil
	}
	tx = tx.WithContext(ctx)
	ids := make([]string, len(asks))
	asked := make(map[string]int64, len(asks))
	for i, a := range asks {
		ids[i] = a.TenantID
		asked[a.TenantID] += a.N
	}
	var rows []struct {
		ID               string
		CreditsRemaining int64
	}
	err := database.ForUpdate(tx.Model(&Tenant{})).Select("id, credits_remaining").
		Where("id IN ? AND status = ? AND credits_remaining > 0 AND trial_ends_at > ?", ids, StatusTrial, now).
		Order("id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read the credits of %d tenants: %w", len(asks), err)
	}
	out := make(map[string]Credits, len(rows))
	var cases strings.Builder
	var args []any
	var spentIDs []string
	cases.WriteString("CASE id")
	for _, r := range rows {
		spent := min(asked[r.ID], r.CreditsRemaining)
		out[r.ID] = Credits{Spent: spent, Left: r.CreditsRemaining - spent}
		if spent > 0 {
			cases.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			args = append(args, r.ID, r.CreditsRemaining-spent)
			spentIDs = append(spentIDs, r.ID)
		}
	}
	if len(spentIDs) == 0 {
		return out, nil
	}
	cases.WriteString(" END")
	if err := tx.Exec(`UPDATE tenants SET credits_remaining = `+cases.String()+` WHERE id IN ?`, append(args, spentIDs)...).Error; err != nil {
		return nil, fmt.Errorf("spend the credits of %d tenants: %w", len(spentIDs), err)
	}
	return out, nil
}

// SetStatus moves a tenant to status inside tx, unless it is there already, and reports whether
// it moved; from, when set, moves it only out of that state. plan, when set, changes too.
func (s *Store) SetStatus(ctx context.Context, tx *gorm.DB, id string, from, status Status, plan string, now time.Time) (bool, error) {
	cols := map[string]any{"status": status, "updated_at": now}
	if plan != "" {
		cols["plan"] = plan
	}
	q := tx.WithContext(ctx).Model(&Tenant{}).Where("id = ? AND status <> ?", id, status)
	if from != "" {
		q = q.Where("status = ?", from)
	}
	res := q.Updates(cols)
	if res.Error != nil {
		return false, fmt.Errorf("set tenant %s %s: %w", id, status, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// IDsWithStatus lists the tenants in a state.
func (s *Store) IDsWithStatus(ctx context.Context, db *gorm.DB, status Status) ([]string, error) {
	var out []string
	if err := db.WithContext(ctx).Model(&Tenant{}).Where("status = ?", status).Order("id").Pluck("id", &out).Error; err != nil {
		return nil, fmt.Errorf("list %s tenants: %w", status, err)
	}
	return out, nil
}
