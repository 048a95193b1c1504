package consents

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/keys"
)

// View is a consent as the API shows it.
type View struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Environment string            `json:"environment"`
	CompanyID   string            `json:"company_id"`
	Scopes      []string          `json:"scopes"`
	Evidence    string            `json:"evidence"`
	Status      string            `json:"status"`
	KeyID       string            `json:"key_id"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	WithdrawnAt *time.Time        `json:"withdrawn_at"`
	Metadata    metadata.Metadata `json:"metadata"`
}

// NewView shows a consent as of now, as the API does.
func NewView(c Consent, now time.Time) View {
	v := View{
		ID: c.ID, Object: "consent", Environment: c.Environment, CompanyID: c.CompanyID, Scopes: c.ScopeList(),
		Evidence: c.Evidence, Status: c.Status(now), KeyID: c.KeyID, CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
		Metadata: metadata.Decode(c.Metadata),
	}
	if c.WithdrawnAt != nil {
		w := c.WithdrawnAt.UTC()
		v.WithdrawnAt = &w
	}
	return v
}

// Routes mounts the consent routes.
func (s *Service) Routes(r httpx.Routes) {
	r.Authed.POST("/consents", s.handleCreate)
	r.Authed.GET("/consents", s.handleList)
	r.Authed.GET("/consents/:id", s.handleGet)
	r.Authed.DELETE("/consents/:id", s.handleWithdraw)
}

func (s *Service) handleCreate(c *gin.Context) {
	var in CreateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	ans, replayed, err := s.CreateOnce(c.Request.Context(), keys.PrincipalOf(c), in, c.GetHeader("Idempotency-Key"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.RawJSON(c, ans.Status, ans.Body, replayed)
}

func (s *Service) handleList(c *gin.Context) {
	page, err := httpx.ParseCompanyPage(c, ids.Consent)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	filter, err := metadata.ParseFilter(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.List(c.Request.Context(), keys.PrincipalOf(c), page, filter)
	now := s.clock.Now()
	httpx.RespondList(c, list, err, page, func(con Consent) View { return NewView(con, now) })
}

func (s *Service) handleGet(c *gin.Context) {
	con, err := s.Get(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(con, s.clock.Now()))
}

func (s *Service) handleWithdraw(c *gin.Context) {
	con, err := s.Withdraw(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(con, s.clock.Now()))
}
