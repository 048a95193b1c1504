// Package idempotency owns the idempotency_keys table: the answers kept for
// the Idempotency-Key header of creating calls (scores, consents). A call
// claims its key, does its work and saves its answer in one transaction, so
// a crash anywhere in between leaves the key free, never locked without an
// answer; a retry with the same key and body replays the saved answer, and
// another body is 409 idempotency_conflict.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
)

const (
	// TTL is how long a saved answer is replayed.
	TTL = 24 * time.Hour
	// Lease is how long a claim without an answer holds off other calls. Claims are made in
	// the transaction that saves the answer, so none should outlive its call; the lease frees
	// the key anyway if one ever does (a claim committed by an older version, say).
	Lease = 30 * time.Second
	// MaxKeyLength is the longest Idempotency-Key accepted.
	MaxKeyLength = 255
)

// ErrClaimed is what Claim answers when another call holds the key: on
// PostgreSQL the insert waited for that call to end, so a saved answer, if
// any, can now be read with Lookup.
var ErrClaimed = errors.New("idempotency key already claimed")

// Scope is whose key it is: keys of different tenants or environments never meet.
type Scope struct {
	TenantID    string
	Environment string
}

// Answer is a saved answer.
type Answer struct {
	Status int
	Body   []byte
}

// ValidKey checks an Idempotency-Key header value ("" means none).
func ValidKey(k string) error {
	if len(k) > MaxKeyLength {
		return problem.Field("Idempotency-Key", "must be at most %d characters", MaxKeyLength)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return problem.Field("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// Fingerprint identifies a request by the canonical JSON of what was
// decoded from it, so that whitespace and key order do not make two equal
// bodies differ.
func Fingerprint(decoded any) (string, error) {
	b, err := json.Marshal(decoded)
	if err != nil {
		return "", fmt.Errorf("fingerprint request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// InProgress is the refusal of a call whose key another call holds without an answer: it is still
// running, or it ended without one and the key frees itself after Lease.
func InProgress() error {
	return problem.New(problem.IdempotencyConflict, "another call with this Idempotency-Key is in progress or did not finish; retry")
}

type row struct {
	RequestHash string
	Status      int
	Response    string
}

// Lookup returns the saved answer of a key used with the same request,
// idempotency_conflict for another request, and found=false when the key is
// free, claimed without an answer, or expired.
func Lookup(ctx context.Context, db *gorm.DB, s Scope, key, fingerprint string, now time.Time) (Answer, bool, error) {
	var rows []row
	err := db.WithContext(ctx).Raw(`SELECT request_hash, status, response FROM idempotency_keys
		WHERE tenant_id = ? AND environment = ? AND key = ? AND expires_at > ?`, s.TenantID, s.Environment, key, now).Scan(&rows).Error
	if err != nil {
		return Answer{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if len(rows) == 0 || rows[0].Response == "" {
		return Answer{}, false, nil
	}
	if rows[0].RequestHash != fingerprint {
		return Answer{}, false, problem.New(problem.IdempotencyConflict, "this Idempotency-Key was used with a different request body")
	}
	return Answer{Status: rows[0].Status, Body: []byte(rows[0].Response)}, true, nil
}

// Claim takes the key inside tx, the transaction that will save the answer.
// ref names what the call creates (a score id), or "". A key whose answer
// expired, or whose claim outlived Lease without an answer, is taken over.
func Claim(ctx context.Context, tx *gorm.DB, s Scope, key, fingerprint, ref string, now time.Time) error {
	if err := tx.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE tenant_id = ? AND environment = ? AND key = ?
		AND (expires_at <= ? OR (response = '' AND created_at <= ?))`,
		s.TenantID, s.Environment, key, now, now.Add(-Lease)).Error; err != nil {
		return fmt.Errorf("free expired idempotency key: %w", err)
	}
	err := tx.WithContext(ctx).Exec(`INSERT INTO idempotency_keys (tenant_id, environment, key, request_hash, status, response, score_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, '', ?, ?, ?)`, s.TenantID, s.Environment, key, fingerprint, ref, now, now.Add(TTL)).Error
	if database.IsUniqueViolation(err) {
		return ErrClaimed
	}
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	return nil
}

// Save stores the answer of a key claimed in the same transaction.
func Save(ctx context.Context, tx *gorm.DB, s Scope, key string, a Answer) error {
	err := tx.WithContext(ctx).Exec(`UPDATE idempotency_keys SET status = ?, response = ? WHERE tenant_id = ? AND environment = ? AND key = ?`,
		a.Status, string(a.Body), s.TenantID, s.Environment, key).Error
	if err != nil {
		return fmt.Errorf("save idempotent answer: %w", err)
	}
	return nil
}

// Purge deletes the answers whose TTL has passed.
func Purge(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	res := db.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", now)
	if res.Error != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
