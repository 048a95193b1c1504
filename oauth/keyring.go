package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/secretbox"
)

// SigningKey is a row of signing_keys: one ES256 key pair. It signs tokens until SignsUntil,
// and its public half stays published until PublishedUntil, after the last token it signed has
// expired.
type SigningKey struct {
	ID             string `gorm:"primaryKey"`
	Algorithm      string
	PublicJWK      string `gorm:"column:public_jwk"`
	PrivateSealed  string
	CreatedAt      time.Time
	SignsUntil     time.Time
	PublishedUntil time.Time
}

// TableName is the signing keys' table.
func (SigningKey) TableName() string { return "signing_keys" }

// Keyring holds the keys that sign and verify access tokens, shared by every replica through the
// database: the first replica that needs a key when none signs makes one (under a lock, so that
// replicas agree on it); the others read it. A replica whose ROCKETFIN_SECRET_KEY cannot open the
// current key's private half (the secret key was rotated) makes a new one sealed with its own,
// and keeps verifying with the published public halves.
type Keyring struct {
	db    *gorm.DB
	box   *secretbox.Box
	clock clock.Clock
	log   *slog.Logger
	// rotation is how long a key signs; tokenTTL how long its tokens live after.
	rotation, tokenTTL time.Duration

	mu     sync.RWMutex
	public map[string]jose.JSONWebKey
	// signsUntil is when each published key stopped (or stops) signing: a token it signed later
	// is forged.
	signsUntil map[string]time.Time
	signer     *currentKey
	loadedAt   time.Time
	// missedAt is the last reload for an unknown kid: at most one a second.
	missedAt time.Time
}

type currentKey struct {
	id         string
	private    *ecdsa.PrivateKey
	signsUntil time.Time
}

// Reload bounds: the published set is reread at least this often, and at most once a second
// when a token names a key this replica has not seen.
const (
	keyringRefresh = time.Minute
	missReload     = time.Second
)

// NewKeyring returns the keyring of db; rotation is how long each key signs.
func NewKeyring(db *gorm.DB, box *secretbox.Box, clk clock.Clock, log *slog.Logger, rotation, tokenTTL time.Duration) *Keyring {
	return &Keyring{db: db, box: box, clock: clk, log: log, rotation: rotation, tokenTTL: tokenTTL, public: map[string]jose.JSONWebKey{}}
}

func sealPurpose(id string) string { return "oauth signing key " + id }

// signing returns the key that signs now, making one if none does.
func (k *Keyring) signing(ctx context.Context) (*currentKey, error) {
	now := k.clock.Now()
	k.mu.RLock()
	cur, stale := k.signer, now.Sub(k.loadedAt) >= keyringRefresh
	k.mu.RUnlock()
	if stale {
		// Another replica may have retired the key this one signs with.
		if err := k.reload(ctx, now); err != nil {
			return nil, err
		}
		k.mu.RLock()
		cur = k.signer
		k.mu.RUnlock()
	}
	if cur != nil && now.Before(cur.signsUntil) {
		return cur, nil
	}
	if err := k.ensure(ctx, now); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.signer == nil {
		return nil, fmt.Errorf("no signing key after making one")
	}
	return k.signer, nil
}

// ensure makes sure a key this replica can open signs at now, then reloads.
func (k *Keyring) ensure(ctx context.Context, now time.Time) error {
	err := k.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "signing-keys"); err != nil {
			return err
		}
		var rows []SigningKey
		if err := tx.Where("signs_until > ?", now).Find(&rows).Error; err != nil {
			return fmt.Errorf("read signing keys: %w", err)
		}
		for _, r := range rows {
			if _, err := k.box.Open(sealPurpose(r.ID), r.PrivateSealed); err == nil {
				return nil
			}
		}
		row, err := k.newKey(now)
		if err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store signing key: %w", err)
		}
		k.log.Info("made a new OAuth2 token signing key", "kid", row.ID, "signs_until", row.SignsUntil.Format(time.RFC3339))
		return nil
	})
	if err != nil {
		return fmt.Errorf("make a signing key: %w", err)
	}
	return k.reload(ctx, now)
}

func (k *Keyring) newKey(now time.Time) (SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate key: %w", err)
	}
	id := ids.New(ids.SigningKey)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return SigningKey{}, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := k.box.Seal(sealPurpose(id), der)
	if err != nil {
		return SigningKey{}, err
	}
	until := now.Add(k.rotation)
	return SigningKey{ID: id, Algorithm: string(jose.ES256), PublicJWK: string(pub), PrivateSealed: sealed, CreatedAt: now,
		SignsUntil: until, PublishedUntil: until.Add(k.tokenTTL + 5*time.Minute)}, nil
}

// reload reads the published keys and picks, among those this replica can open, the newest that
// signs at now.
func (k *Keyring) reload(ctx context.Context, now time.Time) error {
	var rows []SigningKey
	if err := k.db.WithContext(ctx).Where("published_until > ?", now).Order("id").Find(&rows).Error; err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	public := make(map[string]jose.JSONWebKey, len(rows))
	until := make(map[string]time.Time, len(rows))
	var signer *currentKey
	for _, r := range rows {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(r.PublicJWK), &jwk); err != nil {
			k.log.Warn("skipping an unreadable signing key", "kid", r.ID, "error", err.Error())
			continue
		}
		public[r.ID] = jwk
		until[r.ID] = r.SignsUntil
		if !now.Before(r.SignsUntil) {
			continue
		}
		der, err := k.box.Open(sealPurpose(r.ID), r.PrivateSealed)
		if err != nil {
			continue // sealed under another ROCKETFIN_SECRET_KEY: verify only
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if ec, ok := priv.(*ecdsa.PrivateKey); err == nil && ok {
			signer = &currentKey{id: r.ID, private: ec, signsUntil: r.SignsUntil}
		}
	}
	k.mu.Lock()
	k.public, k.signsUntil, k.signer, k.loadedAt = public, until, signer, now
	k.mu.Unlock()
	return nil
}

// verificationKey is the public key kid names and when it stopped signing, rereading the
// published set when this replica has not seen it (at most once a second) or has not looked for a
// minute.
func (k *Keyring) verificationKey(ctx context.Context, kid string) (jose.JSONWebKey, time.Time, bool, error) {
	now := k.clock.Now()
	k.mu.RLock()
	jwk, ok := k.public[kid]
	until := k.signsUntil[kid]
	stale := now.Sub(k.loadedAt) >= keyringRefresh
	retry := !ok && now.Sub(k.missedAt) >= missReload
	k.mu.RUnlock()
	if !stale && !retry {
		return jwk, until, ok, nil
	}
	if retry {
		k.mu.Lock()
		k.missedAt = now
		k.mu.Unlock()
	}
	if err := k.reload(ctx, now); err != nil {
		return jose.JSONWebKey{}, time.Time{}, false, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	jwk, ok = k.public[kid]
	return jwk, k.signsUntil[kid], ok, nil
}

// JWKS is the published public keys.
func (k *Keyring) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	now := k.clock.Now()
	k.mu.RLock()
	stale := now.Sub(k.loadedAt) >= keyringRefresh
	k.mu.RUnlock()
	if stale {
		if err := k.reload(ctx, now); err != nil {
			return jose.JSONWebKeySet{}, err
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(k.public))}
	for _, jwk := range k.public {
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// Rotate ends the current key's signing now: the next token is signed by a new key, and the old
// one stays published until the tokens it signed have expired — or, with unpublish (a leaked key),
// is withdrawn at once, so that its tokens, real or forged, fail here now and on other replicas
// within a minute.
func (k *Keyring) Rotate(ctx context.Context, unpublish bool) (string, error) {
	now := k.clock.Now()
	err := k.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "signing-keys"); err != nil {
			return err
		}
		if unpublish {
			return tx.Model(&SigningKey{}).Where("published_until > ?", now).
				Updates(map[string]any{"signs_until": now, "published_until": now}).Error
		}
		return tx.Model(&SigningKey{}).Where("signs_until > ?", now).
			Updates(map[string]any{"signs_until": now, "published_until": now.Add(k.tokenTTL + 5*time.Minute)}).Error
	})
	if err != nil {
		return "", fmt.Errorf("retire signing keys: %w", err)
	}
	k.mu.Lock()
	k.signer = nil
	k.mu.Unlock()
	cur, err := k.signing(ctx)
	if err != nil {
		return "", err
	}
	return cur.id, nil
}
