package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
)

// Store reads and writes billing accounts, processed Stripe events and
// invoices. Every method takes the tenant, except the lookups by Stripe
// customer that find it.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// errNoAccount says a tenant (or a Stripe customer) has no billing account.
var errNoAccount = errors.New("no billing account")

// Account returns a tenant's billing account, or errNoAccount.
func (s *Store) Account(ctx context.Context, tx *gorm.DB, tenantID string) (Account, error) {
	var a Account
	err := tx.WithContext(ctx).Where("tenant_id = ?", tenantID).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, errNoAccount
	}
	if err != nil {
		return a, fmt.Errorf("read billing account of %s: %w", tenantID, err)
	}
	return a, nil
}

// lockAccountByCustomer returns the account of a Stripe customer, locked
// for the transaction tx, or errNoAccount.
func (s *Store) lockAccountByCustomer(ctx context.Context, tx *gorm.DB, customer string) (Account, error) {
	var a Account
	err := database.ForUpdate(tx.WithContext(ctx)).Where("stripe_customer_id = ?", customer).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, errNoAccount
	}
	if err != nil {
		return a, fmt.Errorf("read billing account of customer %s: %w", customer, err)
	}
	return a, nil
}

// InsertAccount records a tenant's new Stripe customer. When another
// request recorded one first, that one is returned and wins.
func (s *Store) InsertAccount(ctx context.Context, a Account) (Account, error) {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&a).Error
	if err != nil {
		return a, fmt.Errorf("insert billing account of %s: %w", a.TenantID, err)
	}
	return s.Account(ctx, s.db, a.TenantID)
}

// saveAccount writes what webhooks changed of an account.
func (s *Store) saveAccount(ctx context.Context, tx *gorm.DB, a Account, now time.Time) error {
	err := tx.WithContext(ctx).Model(&Account{}).Where("tenant_id = ?", a.TenantID).Updates(map[string]any{
		"subscription_id":      a.SubscriptionID,
		"subscription_status":  a.SubscriptionStatus,
		"subscription_at":      a.SubscriptionAt,
		"payment_failed_at":    a.PaymentFailedAt,
		"payment_succeeded_at": a.PaymentSucceededAt,
		"updated_at":           now,
	}).Error
	if err != nil {
		return fmt.Errorf("save billing account of %s: %w", a.TenantID, err)
	}
	return nil
}

// claimEvent records a Stripe event as processed; false when it already was.
func (s *Store) claimEvent(ctx context.Context, tx *gorm.DB, id, typ string, created, now time.Time) (bool, error) {
	res := tx.WithContext(ctx).Exec(`INSERT INTO stripe_events (id, type, created, processed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, typ, created, now)
	if res.Error != nil {
		return false, fmt.Errorf("record Stripe event %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// tagEvent notes which tenant a processed event was about.
func (s *Store) tagEvent(ctx context.Context, tx *gorm.DB, id, tenantID string) error {
	if err := tx.WithContext(ctx).Exec(`UPDATE stripe_events SET tenant_id = ? WHERE id = ?`, tenantID, id).Error; err != nil {
		return fmt.Errorf("tag Stripe event %s: %w", id, err)
	}
	return nil
}

// invoice returns a tenant's invoice by Stripe id, or gorm.ErrRecordNotFound.
func (s *Store) invoice(ctx context.Context, tx *gorm.DB, tenantID, stripeID string) (Invoice, error) {
	var inv Invoice
	err := tx.WithContext(ctx).Where("tenant_id = ? AND stripe_invoice_id = ?", tenantID, stripeID).Take(&inv).Error
	return inv, err
}

// saveInvoice inserts a new invoice or updates a known one.
func (s *Store) saveInvoice(ctx context.Context, tx *gorm.DB, inv Invoice, isNew bool) error {
	var err error
	if isNew {
		err = tx.WithContext(ctx).Create(&inv).Error
	} else {
		err = tx.WithContext(ctx).Model(&Invoice{}).Where("tenant_id = ? AND id = ?", inv.TenantID, inv.ID).Updates(map[string]any{
			"subscription_id": inv.SubscriptionID, "status": inv.Status, "period_start": inv.PeriodStart, "period_end": inv.PeriodEnd,
			"amount_due": inv.AmountDue, "amount_paid": inv.AmountPaid, "currency": inv.Currency, "metered_quantity": inv.MeteredQuantity,
			"hosted_invoice_url": inv.HostedInvoiceURL, "event_at": inv.EventAt, "updated_at": inv.UpdatedAt,
		}).Error
	}
	if err != nil {
		return fmt.Errorf("save invoice %s of %s: %w", inv.StripeInvoiceID, inv.TenantID, err)
	}
	return nil
}

// InvoiceRow is an invoice with the local count of its period.
type InvoiceRow struct {
	Invoice
	LocalQuantity int64
}

// ListInvoices returns a tenant's invoices, newest first, each with the
// quantity of metered live usage events in its period.
func (s *Store) ListInvoices(ctx context.Context, tenantID string, page httpx.Page) ([]InvoiceRow, error) {
	q := s.db.WithContext(ctx).Where("tenant_id = ?", tenantID)
	var invs []Invoice
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&invs).Error; err != nil {
		return nil, fmt.Errorf("list invoices of %s: %w", tenantID, err)
	}
	out := make([]InvoiceRow, len(invs))
	for i, inv := range invs {
		n, err := s.meteredQuantity(ctx, tenantID, inv.PeriodStart, inv.PeriodEnd)
		if err != nil {
			return nil, err
		}
		out[i] = InvoiceRow{Invoice: inv, LocalQuantity: n}
	}
	return out, nil
}

// meteredQuantity sums the tenant's metered live usage in [from, to).
func (s *Store) meteredQuantity(ctx context.Context, tenantID string, from, to time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(quantity), 0) FROM usage_events
		WHERE tenant_id = ? AND environment = 'live' AND billing_state IN ? AND created_at >= ? AND created_at < ?`,
		tenantID, meteredStates, from, to).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count usage of %s from %s: %w", tenantID, from.Format(time.RFC3339), err)
	}
	return n, nil
}
