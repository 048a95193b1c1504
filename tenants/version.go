package tenants

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/keys"
)

// versionTTL is how long a tenant's pinned version is remembered: it changes only when support
// moves a tenant to another version.
const versionTTL = time.Minute

type pinnedVersion struct {
	version string
	until   time.Time
}

// versions caches each tenant's pinned API version.
type versions struct {
	mu sync.Mutex
	m  map[string]pinnedVersion
}

// PinnedVersion is the API version the caller's tenant is pinned to, for apiversion.Pinned.
func (s *Service) PinnedVersion(c *gin.Context) (string, error) {
	id := keys.PrincipalOf(c).TenantID
	now := s.clock.Now()
	s.pinned.mu.Lock()
	p, ok := s.pinned.m[id]
	s.pinned.mu.Unlock()
	if ok && now.Before(p.until) {
		return p.version, nil
	}
	v, err := s.readPinnedVersion(c.Request.Context(), id)
	if err != nil {
		return "", err
	}
	s.pinned.mu.Lock()
	if len(s.pinned.m) > 100_000 {
		s.pinned.m = map[string]pinnedVersion{}
	}
	s.pinned.m[id] = pinnedVersion{version: v, until: now.Add(versionTTL)}
	s.pinned.mu.Unlock()
	return v, nil
}

func (s *Service) readPinnedVersion(ctx context.Context, id string) (string, error) {
	var v string
	if err := s.db.WithContext(ctx).Model(&Tenant{}).Where("id = ?", id).Pluck("api_version", &v).Error; err != nil {
		return "", fmt.Errorf("read the API version of %s: %w", id, err)
	}
	return v, nil
}
