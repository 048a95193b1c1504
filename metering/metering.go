// Package metering owns what a scoring call costs: trial credits spent by a
// conditional update (never read-then-write), the monthly spend cap of a
// subscribed tenant, the usage event written with every successful call,
// the outbox rows that billing drains, and the usage reports and CSV export
// finance reconciles with.
package metering

import (
	"time"
)

// Metrics counted by usage events.
const (
	MetricAnalysis = "analysis"
)

// Billing states of a usage event.
const (
	// StateTrialCredit is a live call paid by a trial credit (not invoiced).
	StateTrialCredit = "trial_credit"
	// StatePending is a metered live call not yet reported to Stripe.
	StatePending = "pending"
	// StateFree is a sandbox call: counted, never billed.
	StateFree = "free"
	// StateReported is a metered call Stripe has accepted (billing sets it).
	StateReported = "reported"
	// StateStale is a metered call older than Stripe accepts: never
	// reported, flagged for finance to invoice by hand (billing sets it).
	StateStale = "stale"
	// StateFailed is a metered call Stripe refused for good (billing sets
	// it, with the reason on its outbox row).
	StateFailed = "failed"
)

// Outbox topics.
const (
	// TopicMeterEvent asks billing to report a metered usage event to Stripe.
	TopicMeterEvent = "stripe.meter_event"
)

// UsageEvent is one counted call.
type UsageEvent struct {
	ID             string `gorm:"primaryKey"`
	TenantID       string
	Environment    string
	Metric         string
	Quantity       int
	ScoreID        string
	KeyID          string
	RequestID      string
	IdempotencyKey string
	BillingState   string
	Amount         int64
	Currency       string
	UsageDate      string
	Period         string
	CreatedAt      time.Time
}

// OutboxRow is work for a background worker, written with the fact it reports.
type OutboxRow struct {
	ID           string `gorm:"primaryKey"`
	TenantID     string
	Topic        string
	UsageEventID *string
	Payload      string
	State        OutboxState
	Attempts     int
	AvailableAt  time.Time
	CreatedAt    time.Time
	DeliveredAt  *time.Time
	Reference    *string
	LastError    *string
}

// Charge is the outcome of spending for one call.
type Charge struct {
	// BillingState is the usage event's billing state.
	BillingState string
	// CreditsRemaining is set for a trial tenant: what is left after this call.
	CreditsRemaining *int64
	// Amount is what the call costs (0 for trial credits and the sandbox).
	Amount   int64
	Currency string
}
