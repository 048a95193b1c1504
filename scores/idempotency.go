package scores

import (
	"context"

	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/keys"
)

// scopeOf is the idempotency scope of a caller: its tenant and environment.
func scopeOf(p keys.Principal) idempotency.Scope {
	return idempotency.Scope{TenantID: p.TenantID, Environment: string(p.Environment)}
}

// replay returns the saved answer of a key used with the same request (see idempotency.Lookup).
func (g *Service) replay(ctx context.Context, p keys.Principal, key, fingerprint string) (idempotency.Answer, bool, error) {
	return idempotency.Lookup(ctx, g.db, scopeOf(p), key, fingerprint, g.clock.Now())
}

// PurgeIdempotencyKeys deletes answers older than their TTL.
func (g *Service) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	return idempotency.Purge(ctx, g.db, g.clock.Now())
}
