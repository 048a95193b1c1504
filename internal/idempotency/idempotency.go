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
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

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
	taken, err := ClaimAll(ctx, tx, []Claimed{{ScopedKey: ScopedKey{s, key}, Fingerprint: fingerprint, Ref: ref}}, now)
	if err != nil {
		return err
	}
	if !taken[0] {
		return ErrClaimed
	}
	return nil
}

// ScopedKey is a key and whose it is.
type ScopedKey struct {
	Scope
	Key string
}

// Claimed is one key a call claims, with its request's fingerprint and what it creates.
type Claimed struct {
	ScopedKey
	Fingerprint, Ref string
}

// ClaimAll takes the keys of several calls inside tx (the calls of a group commit) in one
// statement and reports which it took; a key another call holds (or that appears twice in
// claims) is not taken, and the transaction goes on. Keys are inserted in one order whatever the
// order of claims, so that concurrent groups never wait for each other in a circle. On PostgreSQL
// the insert waits for a transaction that holds a key to end, so its saved answer, if any, can
// then be read with Lookup.
func ClaimAll(ctx context.Context, tx *gorm.DB, claims []Claimed, now time.Time) ([]bool, error) {
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return claims[a].ScopedKey.compare(claims[b].ScopedKey) })
	var sb strings.Builder
	args := make([]any, 0, len(claims)*7)
	keys := make([]ScopedKey, len(claims))
	sb.WriteString(`INSERT INTO idempotency_keys (tenant_id, environment, key, request_hash, status, response, score_id, created_at, expires_at) VALUES `)
	for j, i := range order {
		c := claims[i]
		keys[i] = c.ScopedKey
		if j > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?, ?, ?, ?, 0, '', ?, ?, ?)")
		args = append(args, c.TenantID, c.Environment, c.Key, c.Fingerprint, c.Ref, now, now.Add(TTL))
	}
	sb.WriteString(" ON CONFLICT (tenant_id, environment, key) DO NOTHING RETURNING tenant_id, environment, key")
	tx = tx.WithContext(ctx)
	if err := tx.Exec(`DELETE FROM idempotency_keys WHERE (tenant_id, environment, key) IN ?
		AND (expires_at <= ? OR (response = '' AND created_at <= ?))`, tuples(keys), now, now.Add(-Lease)).Error; err != nil {
		return nil, fmt.Errorf("free expired idempotency keys: %w", err)
	}
	var inserted []struct{ TenantID, Environment, Key string }
	if err := tx.Raw(sb.String(), args...).Scan(&inserted).Error; err != nil {
		return nil, fmt.Errorf("claim idempotency keys: %w", err)
	}
	taken := make([]bool, len(claims))
	for _, r := range inserted {
		// the first claim of a key repeated in claims is the one that took it
		k := ScopedKey{Scope{r.TenantID, r.Environment}, r.Key}
		if i := slices.Index(keys, k); i >= 0 {
			taken[i], keys[i] = true, ScopedKey{}
		}
	}
	return taken, nil
}

func (k ScopedKey) compare(o ScopedKey) int {
	if c := strings.Compare(k.TenantID, o.TenantID); c != 0 {
		return c
	}
	if c := strings.Compare(k.Environment, o.Environment); c != 0 {
		return c
	}
	return strings.Compare(k.Key, o.Key)
}

// tuples are keys as (tenant_id, environment, key) rows for an IN list.
func tuples(keys []ScopedKey) [][]any {
	out := make([][]any, len(keys))
	for i, k := range keys {
		out[i] = []any{k.TenantID, k.Environment, k.Key}
	}
	return out
}

// Release frees keys claimed in tx whose calls were refused, so that the transaction can go on
// and commit the others' answers.
func Release(ctx context.Context, tx *gorm.DB, keys []ScopedKey) error {
	if len(keys) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE (tenant_id, environment, key) IN ? AND response = ''`,
		tuples(keys)).Error; err != nil {
		return fmt.Errorf("release idempotency keys: %w", err)
	}
	return nil
}

// Saved is the answer of a claimed key.
type Saved struct {
	ScopedKey
	Answer
}

// Save stores the answer of a key claimed in the same transaction.
func Save(ctx context.Context, tx *gorm.DB, s Scope, key string, a Answer) error {
	return SaveAll(ctx, tx, []Saved{{ScopedKey{s, key}, a}})
}

// SaveAll stores the answers of keys claimed in the same transaction, in one statement.
func SaveAll(ctx context.Context, tx *gorm.DB, answers []Saved) error {
	if len(answers) == 0 {
		return nil
	}
	var status, response strings.Builder
	var statusArgs, responseArgs []any
	keys := make([]ScopedKey, len(answers))
	status.WriteString("CASE")
	response.WriteString("CASE")
	for i, a := range answers {
		keys[i] = a.ScopedKey
		status.WriteString(" WHEN tenant_id = ? AND environment = ? AND key = ? THEN CAST(? AS INTEGER)")
		response.WriteString(" WHEN tenant_id = ? AND environment = ? AND key = ? THEN ?")
		statusArgs = append(statusArgs, a.TenantID, a.Environment, a.Key, a.Status)
		responseArgs = append(responseArgs, a.TenantID, a.Environment, a.Key, string(a.Body))
	}
	status.WriteString(" END")
	response.WriteString(" END")
	args := append(append(statusArgs, responseArgs...), tuples(keys))
	err := tx.WithContext(ctx).Exec(`UPDATE idempotency_keys SET status = `+status.String()+`, response = `+response.String()+`
		WHERE (tenant_id, environment, key) IN ?`, args...).Error
	if err != nil {
		return fmt.Errorf("save idempotent answers: %w", err)
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
