package gateway

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

type idempotencyRow struct {
	RequestHash string
	Status      int
	Response    string
	ExpiresAt   time.Time
}

// storedAnswer is an answer kept for an idempotency key.
type storedAnswer struct {
	status int
	body   []byte
}

// replay returns the stored answer of a key used with the same request,
// idempotency_conflict for another request, and found=false when the key
// is free (or its answer expired).
func (g *Gateway) replay(ctx context.Context, p keys.Principal, key, fingerprint string) (storedAnswer, bool, error) {
	var rows []idempotencyRow
	err := g.db.WithContext(ctx).Raw(`SELECT request_hash, status, response, expires_at FROM idempotency_keys
		WHERE tenant_id = ? AND environment = ? AND key = ?`, p.TenantID, string(p.Environment), key).Scan(&rows).Error
	if err != nil {
		return storedAnswer{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if len(rows) == 0 || rows[0].Response == "" {
		return storedAnswer{}, false, nil
	}
	if rows[0].RequestHash != fingerprint {
		return storedAnswer{}, false, problem.New(problem.IdempotencyConflict, "this Idempotency-Key was used with a different request body")
	}
	return storedAnswer{status: rows[0].Status, body: []byte(rows[0].Response)}, true, nil
}

// ClaimLease is how long a claimed Idempotency-Key without an answer holds off other calls.
const ClaimLease = 30 * time.Second

// claim takes the key inside the charging transaction. If another call
// holds it, PostgreSQL makes this insert wait for that call's commit and
// then fail, and the caller replays the stored answer.
func (g *Gateway) claim(ctx context.Context, tx *gorm.DB, p keys.Principal, key, fingerprint, scoreID string, now time.Time) error {
	// An expired answer frees its key, and so does a claim left without an answer for longer than
	// ClaimLease: the call that made it crashed or lost its database between claiming and
	// answering, and its retries must not wait a day.
	if err := tx.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE tenant_id = ? AND environment = ? AND key = ?
		AND (expires_at <= ? OR (response = '' AND created_at <= ?))`,
		p.TenantID, string(p.Environment), key, now, now.Add(-ClaimLease)).Error; err != nil {
		return fmt.Errorf("free expired idempotency key: %w", err)
	}
	err := tx.WithContext(ctx).Exec(`INSERT INTO idempotency_keys (tenant_id, environment, key, request_hash, status, response, score_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, '', ?, ?, ?)`, p.TenantID, string(p.Environment), key, fingerprint, scoreID, now, now.Add(IdempotencyTTL)).Error
	if database.IsUniqueViolation(err) {
		return errReplay
	}
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	return nil
}

// store saves the answer of a claimed key, in the same transaction.
func (g *Gateway) store(ctx context.Context, tx *gorm.DB, p keys.Principal, key string, body []byte) error {
	err := tx.WithContext(ctx).Exec(`UPDATE idempotency_keys SET status = 200, response = ? WHERE tenant_id = ? AND environment = ? AND key = ?`,
		string(body), p.TenantID, string(p.Environment), key).Error
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes answers older than their TTL.
func (g *Gateway) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	res := g.db.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", g.clock.Now())
	if res.Error != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
