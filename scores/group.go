package scores

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scoring"
)

// Group commit. Every live call of a trial tenant spends from the same row (its credits), and so
// does every live call of a tenant with a monthly cap (the month's spend): one at a time, each
// holding the row's lock until its commit, a busy tenant's calls would queue behind one another.
// So the charging transactions of one tenant and environment are shared: while one runs, the
// calls that arrive queue, and the next transaction takes them all (up to DefaultGroupMax) and
// spends k credits or k units of the cap at once, never more than there are, and writes k
// decisions, k usage events and their outbox rows in one statement. Every call still answers
// only after its records are committed. A call refused inside the group (no credit left, its
// Idempotency-Key held by another call) is refused alone and leaves nothing behind; a group whose
// transaction fails is split and each call tried alone, so a failure fails only the calls it
// concerns.

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
	likelyTrial bool
	started     time.Time
	d           Decision
	analysis    metering.Analysis
	head        []byte
	output      []byte
	req         *scoring.Request
	within      func(ctx context.Context, tx *gorm.DB, d Decision, req scoring.Request) error
	done        chan charged
}

// charged is what the transaction did for one call: its answer and charge, or why it was refused.
type charged struct {
	body   []byte
	charge metering.Charge
	err    error
}

// groups holds the queue of each tenant and environment whose transactions are running.
type groups struct {
	mu     sync.Mutex
	queues map[string][]*charging
	max    int
}

// charge queues c for its tenant's next charging transaction and waits for the outcome.
func (g *Service) charge(c *charging) charged {
	c.done = make(chan charged, 1)
	key := c.p.TenantID + "/" + string(c.p.Environment)
	gs := &g.groups
	gs.mu.Lock()
	q, running := gs.queues[key]
	gs.queues[key] = append(q, c)
	gs.mu.Unlock()
	if !running {
		go g.serveGroup(key)
	}
	return <-c.done
}

// serveGroup runs the charging transactions of one tenant and environment while calls queue.
func (g *Service) serveGroup(key string) {
	gs := &g.groups
	for {
		gs.mu.Lock()
		q := gs.queues[key]
		if len(q) == 0 {
			delete(gs.queues, key)
			gs.mu.Unlock()
			return
		}
		// A call with work of its own in the transaction (a monitor to create) goes alone.
		n := 1
		if q[0].within == nil {
			for n < len(q) && n < gs.max && q[n].within == nil {
				n++
			}
		}
		batch := q[:n:n]
		gs.queues[key] = q[n:]
		gs.mu.Unlock()
		g.runGroup(batch)
	}
}

// runGroup charges batch in one transaction and hands each call its outcome; when the
// transaction fails, each call is tried alone.
func (g *Service) runGroup(batch []*charging) {
	outs, err := g.chargeGroup(batch)
	if err != nil && len(batch) > 1 {
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

// chargeGroup is the transaction of a group of calls of one tenant and environment.
func (g *Service) chargeGroup(batch []*charging) ([]charged, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), groupTimeout)
	defer cancel()
	p := batch[0].p
	scope := scopeOf(p)
	now := batch[0].analysis.At
	likelyTrial := false
	for _, c := range batch {
		if c.analysis.At.After(now) {
			now = c.analysis.At
		}
		likelyTrial = likelyTrial || c.likelyTrial
	}
	free := metering.Charge{BillingState: metering.StateFree, Currency: g.meter.Price().Currency}
	outs := make([]charged, len(batch))
	var credits *int64
	err := g.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		credits = nil
		live := make([]int, 0, len(batch)) // the calls still going
		var claims []idempotency.Claimed
		var claimedBy []int
		for i, c := range batch {
			outs[i] = charged{}
			if c.key == "" {
				live = append(live, i)
				continue
			}
			claims = append(claims, idempotency.Claimed{Key: c.key, Fingerprint: c.fingerprint, Ref: c.d.ID})
			claimedBy = append(claimedBy, i)
		}
		if len(claims) > 0 {
			taken, err := idempotency.ClaimAll(ctx, tx, scope, claims, now)
			if err != nil {
				return err
			}
			for j, i := range claimedBy {
				if taken[j] {
					live = append(live, i)
				} else {
					outs[i].err = idempotency.ErrClaimed
				}
			}
			sort.Ints(live)
		}
		charges := make([]metering.Charge, len(live))
		for j := range charges {
			charges[j] = free
		}
		if p.Environment == keys.Live && len(live) > 0 {
			granted, refusal, err := g.meter.Spend(ctx, tx, p.TenantID, now, likelyTrial, len(live))
			if err != nil {
				return err
			}
			var release []string
			for _, i := range live[len(granted):] {
				outs[i].err = refusal
				if batch[i].key != "" {
					release = append(release, batch[i].key)
				}
			}
			if err := idempotency.Release(ctx, tx, scope, release); err != nil {
				return err
			}
			live, charges = live[:len(granted)], granted
		}
		if len(live) == 0 {
			return nil
		}
		ds := make([]Decision, len(live))
		evs := make([]metering.UsageEvent, len(live))
		var outbox []*metering.OutboxRow
		for j, i := range live {
			c := batch[i]
			ds[j] = c.d
			ds[j].LatencyUS = time.Since(c.started).Microseconds()
			evs[j] = metering.NewUsageEvent(c.analysis, charges[j])
			o, err := metering.OutboxFor(evs[j])
			if err != nil {
				return err
			}
			if o != nil {
				outbox = append(outbox, o)
			}
			if cr := charges[j].CreditsRemaining; cr != nil && (credits == nil || *cr < *credits) {
				credits = cr
			}
		}
		if err := insertRecords(ctx, tx, ds, evs, outbox); err != nil {
			if database.IsUniqueViolation(err) && len(batch) == 1 {
				return metering.IdempotencyConflict(batch[0].analysis.IdempotencyKey)
			}
			return fmt.Errorf("record %d calls: %w", len(live), err)
		}
		answers := map[string]idempotency.Answer{}
		for j, i := range live {
			c := batch[i]
			if c.within != nil {
				if err := c.within(ctx, tx, ds[j], *c.req); err != nil {
					return err
				}
			}
			outs[i].body, outs[i].charge = spliceAnswer(c.head, c.output, charges[j].CreditsRemaining), charges[j]
			if c.key != "" {
				answers[c.key] = idempotency.Answer{Status: http.StatusOK, Body: outs[i].body}
			}
		}
		return idempotency.SaveAll(ctx, tx, scope, answers)
	})
	if err != nil {
		return nil, err
	}
	g.groupSize.Observe(float64(len(batch)))
	if credits != nil {
		g.tenants.SetCredits(p.TenantID, *credits)
	}
	for i, c := range batch {
		if outs[i].err == nil {
			g.decided.WithLabelValues(c.d.Environment, c.d.Recommendation).Inc()
			if p.Environment == keys.Live {
				g.charged.WithLabelValues(outs[i].charge.BillingState).Inc()
			}
		}
	}
	return outs, nil
}
