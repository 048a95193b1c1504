package tenants

import (
	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/keys"
)

// PinnedVersion is the API version the caller's tenant is pinned to, for apiversion.Pinned; it
// reads the cached account the scoring call reads too.
func (s *Service) PinnedVersion(c *gin.Context) (string, error) {
	a, err := s.accounts.Account(c.Request.Context(), keys.PrincipalOf(c).TenantID, s.clock.Now())
	return a.APIVersion, err
}
