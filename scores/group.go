package scores

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scoring"
)

// Group commit. Every live call of a trial tenant spends from the same row (its credits), and so
// does every live call of a tenant with a monthly cap (the month's spend): one at a time, each
// holding the row's lock until its commit, a busy tenant's calls would queue behind one another;
// and every call alone pays a transaction of its own (its BEGIN, its inserts, its COMMIT). So the
// charging transactions are shared: while transactions run, the calls that arrive queue, and the
// next transaction takes them (up to DefaultGroupMax, whatever their tenants): for each tenant, in
// one order, it spends k credits or k units of the cap at once, never more than there are; then
// it writes every decision, usage event and outbox row in one statement and commits once. Every
// call still answers only after its records are committed. A call refused inside the group (no
// credit left, its Idempotency-Key held by another call) is refused alone and leaves nothing
// behind; a group whose transaction fails is split and each call tried alone, so a failure fails
// only the calls it concerns. Tenants' rows are locked in one order (sorted by id) by every
// group, so groups running at once wait for each other at worst, never in a circle.

// DefaultGroupMax is how many calls one charging transaction takes at most.
const DefaultGroupMax = 64

// groupTimeout bounds a group's transaction: it runs on for calls whose client went away, since
// the others of its group wait for it.
const groupTimeout = 30 * time.Second

// charging is one call waiting for its charging transaction.
type charging struct {
	ctx         context.Context
	p           keys.Principal
	key         string // the client's Idempotency-Key, or ""
	fingerprint string
	started     time.Time
	d           Decision
	analysis    metering.Analysis
	head        []byte
	output      []byte
	req         *scoring.Request
	within      func(ctx context.Context, tx *gorm.DB, d Decision, req scoring.Request) error
	render      func(score []byte) ([]byte, error)
	done        chan charged
}

// charged is what the transaction did for one call: its answer and charge, or why it was refused.
type charged struct {
	body   []byte
	charge metering.Charge
	err    error
}

// groups is the queue of calls waiting for a charging transaction.
type groups struct {
	mu      sync.Mutex
	queue   []*charging
	running int
	runners int // how many may run at once
	max     int
	// waiting counts the calls queued or in a running transaction.
	waiting int
}

// charge queues c for the next charging transaction and waits for the outcome.
func (g *Service) charge(c *charging) charged {
	c.done = make(chan charged, 1)
	gs := &g.groups
	gs.mu.Lock()
	gs.queue = append(gs.queue, c)
	gs.waiting++
	start := gs.running < gs.runners
	if start {
		gs.running++
	}
	gs.mu.Unlock()
	if start {
		go g.serveGroups()
	}
	var out charged
	select {
	case out = <-c.done:
	case <-c.ctx.Done():
		// A call still queued leaves with its client; one in a running transaction waits for it.
		if gs.remove(c) {
			out = charged{err: c.ctx.Err()}
		} else {
			out = <-c.done
		}
	}
	gs.mu.Lock()
	gs.waiting--
	gs.mu.Unlock()
	return out
}

// remove takes c out of the queue, if no transaction took it yet.
func (gs *groups) remove(c *charging) bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	i := slices.Index(gs.queue, c)
	if i < 0 {
		return false
	}
	gs.queue = slices.Delete(gs.queue, i, i+1)
	return true
}

// serveGroups runs charging transactions while calls queue.
func (g *Service) serveGroups() {
	gs := &g.groups
	for {
		gs.mu.Lock()
		q := gs.queue
		if len(q) == 0 {
			gs.running--
			gs.mu.Unlock()
			return
		}
		// A call with work of its own in the transaction (a monitor to create) goes alone.
		n := 1
		if q[0].within == nil && q[0].render == nil {
			for n < len(q) && n < gs.max && q[n].within == nil && q[n].render == nil {
				n++
			}
		}
		taken := q[:n:n]
		gs.queue = q[n:]
		gs.mu.Unlock()
		// A call whose client went away while it queued is not charged.
		batch := make([]*charging, 0, len(taken))
		for _, c := range taken {
			if err := c.ctx.Err(); err != nil {
				c.done <- charged{err: err}
				continue
			}
			batch = append(batch, c)
		}
		if len(batch) > 0 {
			g.runGroup(batch)
		}
	}
}

// runGroup charges batch in one transaction and hands each call its outcome; when the
// transaction fails, each call is tried alone. A panic fails the calls still waiting (nothing was
// committed for them) instead of the process.
func (g *Service) runGroup(batch []*charging) {
	defer func() {
		if r := recover(); r != nil {
			g.log.Error("charging transaction panicked", "panic", fmt.Sprint(r), "calls", len(batch))
			for _, c := range batch {
				select {
				case c.done <- charged{err: fmt.Errorf("charging transaction: panic: %v", r)}:
				default: // answered already
				}
			}
		}
	}()
	outs, err := g.chargeGroup(batch)
	// A group that failed for one of its calls is split, each call tried alone; one that ran out
	// of time or found the database gone fails whole (each alone would wait as long).
	if err != nil && len(batch) > 1 && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) &&
		!database.IsUnavailable(err) {
		for _, c := range batch {
			g.runGroup([]*charging{c})
		}
		return
	}
	for i, c := range batch {
		if err != nil {
			c.done <- charged{err: err}
			continue
		}
		c.done <- outs[i]
	}
}

// chargeGroup is the transaction of a group of calls.
func (g *Service) chargeGroup(batch []*charging) (_ []charged, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), groupTimeout)
	defer cancel()
	ctx, span := telemetry.Span(ctx, "scores.charging_transaction", attribute.Int("rocketfin.group_size", len(batch)))
	defer func() { span.End(err) }()
	now := batch[0].analysis.At
	for _, c := range batch {
		if c.analysis.At.After(now) {
			now = c.analysis.At
		}
	}
	free := metering.Charge{BillingState: metering.StateFree, Currency: g.meter.Price().Currency}
	outs := make([]charged, len(batch))
	charges := make([]metering.Charge, len(batch))
	var credits map[string]int64 // the trial tenants' credits left after the group
	err = g.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		credits = map[string]int64{}
		going := make([]bool, len(batch)) // the calls still going
		var claims []idempotency.Claimed
		var claimedBy []int
		for i, c := range batch {
			outs[i], charges[i] = charged{}, free
			if c.key == "" {
				going[i] = true
				continue
			}
			claims = append(claims, idempotency.Claimed{ScopedKey: c.scopedKey(), Fingerprint: c.fingerprint, Ref: c.d.ID})
			claimedBy = append(claimedBy, i)
		}
		if len(claims) > 0 {
			taken, err := idempotency.ClaimAll(ctx, tx, claims, now)
			if err != nil {
				return err
			}
			for j, i := range claimedBy {
				if going[i] = taken[j]; !taken[j] {
					outs[i].err = idempotency.ErrClaimed
				}
			}
		}
		// live calls spend, tenant by tenant in one order
		byTenant := map[string][]int{}
		for i, c := range batch {
			if going[i] && c.p.Environment == keys.Live {
				byTenant[c.p.TenantID] = append(byTenant[c.p.TenantID], i)
			}
		}
		var release []idempotency.ScopedKey
		if len(byTenant) > 0 {
			var asks []metering.Ask
			var callsOf [][]int
			for _, tenantID := range slices.Sorted(maps.Keys(byTenant)) {
				asks = append(asks, metering.Ask{TenantID: tenantID, N: len(byTenant[tenantID])})
				callsOf = append(callsOf, byTenant[tenantID])
			}
			spent, err := g.meter.SpendAll(ctx, tx, asks, now)
			if err != nil {
				return err
			}
			for t, calls := range callsOf {
				for j, i := range calls {
					if j < len(spent[t].Granted) {
						charges[i] = spent[t].Granted[j]
						if cr := charges[i].CreditsRemaining; cr != nil {
							credits[asks[t].TenantID] = *cr
						}
						continue
					}
					going[i], outs[i].err = false, spent[t].Refusal
					if batch[i].key != "" {
						release = append(release, batch[i].scopedKey())
					}
				}
			}
		}
		if err := idempotency.Release(ctx, tx, release); err != nil {
			return err
		}
		var ds []Decision
		var evs []metering.UsageEvent
		var outbox []*metering.OutboxRow
		for i, c := range batch {
			if !going[i] {
				continue
			}
			d := c.d
			d.LatencyUS = time.Since(c.started).Microseconds()
			ev := metering.NewUsageEvent(c.analysis, charges[i])
			o, err := metering.OutboxFor(ev)
			if err != nil {
				return err
			}
			if o != nil {
				outbox = append(outbox, o)
			}
			ds, evs = append(ds, d), append(evs, ev)
		}
		if len(ds) == 0 {
			return nil
		}
		if err := insertRecords(ctx, tx, ds, evs, outbox); err != nil {
			if database.IsUniqueViolation(err) && len(batch) == 1 {
				return metering.IdempotencyConflict(batch[0].analysis.IdempotencyKey)
			}
			return fmt.Errorf("record %d calls: %w", len(ds), err)
		}
		var answers []idempotency.Saved
		j := 0
		for i, c := range batch {
			if !going[i] {
				continue
			}
			if c.within != nil {
				if err := c.within(ctx, tx, ds[j], *c.req); err != nil {
					return err
				}
			}
			j++
			outs[i].body, outs[i].charge = spliceAnswer(c.head, c.output, charges[i].CreditsRemaining), charges[i]
			if c.render != nil {
				body, err := c.render(outs[i].body)
				if err != nil {
					return err
				}
				outs[i].body = body
			}
			if c.key != "" {
				answers = append(answers, idempotency.Saved{ScopedKey: c.scopedKey(), Answer: idempotency.Answer{Status: http.StatusOK, Body: outs[i].body}})
			}
		}
		return idempotency.SaveAll(ctx, tx, answers)
	})
	if err != nil {
		return nil, err
	}
	g.groupSize.Observe(float64(len(batch)))
	for tenantID, left := range credits {
		g.tenants.SetCredits(tenantID, left)
	}
	for i, c := range batch {
		if outs[i].err == nil {
			g.decided.WithLabelValues(c.d.Environment, c.d.Recommendation).Inc()
			if c.p.Environment == keys.Live {
				g.charged.WithLabelValues(outs[i].charge.BillingState).Inc()
			}
		}
	}
	return outs, nil
}

// scopedKey is the call's Idempotency-Key in its tenant and environment.
func (c *charging) scopedKey() idempotency.ScopedKey {
	return idempotency.ScopedKey{Scope: scopeOf(c.p), Key: c.key}
}
