// Package keys issues and checks RocketFin's API keys: secrets with a
// recognisable prefix (rf_test_ for sandbox, rf_live_ for live), 178 bits
// from crypto/rand and a CRC-32 checksum, so that a mistyped key is refused
// before any database work and a leaked one is recognisable by scanners.
// Only a SHA-256 hash of a secret is stored. Keys rotate with a grace
// period, are revoked at once, and are resolved to a Principal (tenant,
// environment, key) by a cached lookup that later handlers rely on.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"strings"
	"time"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Environment separates fictitious sandbox data from real, billed live data.
type Environment string

// The two environments.
const (
	Sandbox Environment = "sandbox"
	Live    Environment = "live"
)

// Valid reports whether e is one of the two environments.
func (e Environment) Valid() bool { return e == Sandbox || e == Live }

// SecretPrefix is the visible start of a secret in an environment.
func (e Environment) SecretPrefix() string {
	if e == Live {
		return "rf_live_"
	}
	return "rf_test_"
}

const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bodyLen     = 30 // 30 × log2(62) ≈ 178.6 bits of entropy
	checksumLen = 6  // 62^6 > 2^32
	prefixLen   = 8
	// SecretLen is the length of every secret.
	SecretLen = prefixLen + bodyLen + checksumLen
)

// Key is an API key as stored: never its secret, only the secret's hash.
type Key struct {
	ID          string `gorm:"primaryKey"`
	TenantID    string
	Environment Environment
	Name        string
	Prefix      string
	Last4       string
	SecretHash  string
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	RotatedFrom *string
	Metadata    string // JSON text, see internal/metadata
	// Scopes the key holds, space-separated; nil holds every scope (within its environment's
	// ceiling). A key never holds more than the credential that made it.
	Scopes *string
}

// ScopeSet is what the key may do: its scopes, within the sandbox ceiling for a sandbox key.
func (k Key) ScopeSet() access.Set {
	set := access.Every()
	if k.Scopes != nil {
		set, _ = access.Parse(*k.Scopes) // written from known scopes
	}
	if k.Environment == Sandbox {
		set = set.Intersect(access.SandboxMachineCeiling)
	}
	return set
}

// TableName is the table of keys.
func (Key) TableName() string { return "api_keys" }

// Key states, derived from the timestamps at a given time.
const (
	StatusActive   = "active"
	StatusExpiring = "expiring"
	StatusExpired  = "expired"
	StatusRevoked  = "revoked"
)

// Status is the key's state at now.
func (k Key) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	case k.ExpiresAt != nil:
		return StatusExpiring
	default:
		return StatusActive
	}
}

// Usable reports whether the key authenticates at now.
func (k Key) Usable(now time.Time) bool {
	s := k.Status(now)
	return s == StatusActive || s == StatusExpiring
}

// Principal is who is calling: resolved from a credential by the
// authentication middleware, read by every later handler.
type Principal struct {
	TenantID    string
	Environment Environment
	// CredentialID is the API key (key_…), OAuth2 client (cli_…) or member signed in to the
	// console (mem_…) that made the call.
	CredentialID string
	// Scopes are what the credential may do (access.Every for an API key).
	Scopes access.Set
	// Role is a person's role when a console session made the call ("" for machines).
	Role access.Role
}

// ActorType is how the audit trail names the kind of credential that made the call.
func (p Principal) ActorType() string {
	if strings.HasPrefix(p.CredentialID, ids.Client) {
		return audit.ActorClient
	}
	if strings.HasPrefix(p.CredentialID, ids.Member) {
		return audit.ActorMember
	}
	return audit.ActorKey
}

// Change is the audit record of a mutation this principal made in its tenant and environment;
// the caller fills the action, the target, and before and after where meaningful.
func (p Principal) Change(action, targetType, targetID string) audit.Change {
	return audit.Change{TenantID: p.TenantID, Environment: string(p.Environment), ActorType: p.ActorType(), ActorID: p.CredentialID,
		Action: action, TargetType: targetType, TargetID: targetID}
}

// change is the audit record of a mutation this principal made on one of its keys.
func (p Principal) change(action, keyID string, before, after any) audit.Change {
	c := p.Change(action, "api_key", keyID)
	c.Before, c.After = before, after
	return c
}

// NewSecret draws a fresh secret for an environment.
func NewSecret(env Environment) (string, error) {
	var b strings.Builder
	b.Grow(SecretLen)
	b.WriteString(env.SecretPrefix())
	buf := make([]byte, 64)
	for b.Len() < prefixLen+bodyLen {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			// Rejection sampling keeps every character equally likely.
			if c < 248 && b.Len() < prefixLen+bodyLen {
				b.WriteByte(base62[c%62])
			}
		}
	}
	b.WriteString(checksum(b.String()))
	return b.String(), nil
}

func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// ParseSecret checks a secret's shape and checksum without any storage
// work and tells its environment.
func ParseSecret(secret string) (Environment, error) {
	var env Environment
	switch {
	case strings.HasPrefix(secret, Sandbox.SecretPrefix()):
		env = Sandbox
	case strings.HasPrefix(secret, Live.SecretPrefix()):
		env = Live
	default:
		return "", problem.New(problem.Unauthenticated, "the API key is malformed: it must start with rf_test_ or rf_live_")
	}
	if len(secret) != SecretLen {
		return "", problem.New(problem.Unauthenticated, "the API key is malformed: it must be %d characters long", SecretLen)
	}
	for i := prefixLen; i < len(secret); i++ {
		if strings.IndexByte(base62, secret[i]) < 0 {
			return "", problem.New(problem.Unauthenticated, "the API key is malformed: it holds a character outside [0-9A-Za-z]")
		}
	}
	if checksum(secret[:prefixLen+bodyLen]) != secret[prefixLen+bodyLen:] {
		return "", problem.New(problem.Unauthenticated, "the API key's checksum does not match: it was mistyped or truncated")
	}
	return env, nil
}

// HashSecret is the stored form of a secret. A secret has 178 random bits,
// so a fast hash is safe: nobody can guess their way back to it.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// displayPrefix is what lists show of a secret's start.
func displayPrefix(secret string) string { return secret[:prefixLen+4] }

func last4(secret string) string { return secret[len(secret)-4:] }
