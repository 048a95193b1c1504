package members

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/keys"
)

// View is a member as the API shows it.
type View struct {
	ID              string      `json:"id"`
	Object          string      `json:"object"`
	Email           string      `json:"email"`
	Role            access.Role `json:"role"`
	Status          string      `json:"status"`
	InvitedBy       *string     `json:"invited_by"`
	InviteExpiresAt *time.Time  `json:"invite_expires_at"`
	JoinedAt        *time.Time  `json:"joined_at"`
	CreatedAt       time.Time   `json:"created_at"`
}

// NewView shows m as of now.
func NewView(m Member, now time.Time) View {
	v := View{ID: m.ID, Object: "member", Email: m.Email, Role: m.Role, Status: m.Status(now), InvitedBy: m.InvitedBy,
		JoinedAt: clock.UTC(m.JoinedAt), CreatedAt: m.CreatedAt.UTC()}
	if m.JoinedAt == nil {
		v.InviteExpiresAt = clock.UTC(m.InviteExpiresAt)
	}
	return v
}

// Routes mounts the member routes.
func (s *Service) Routes(r httpx.Routes) {
	r.Authed.GET("/members", s.handleList)
	r.Authed.POST("/members", s.handleInvite)
	r.Authed.GET("/members/:id", s.handleGet)
	r.Authed.PATCH("/members/:id", s.handleUpdate)
	r.Authed.DELETE("/members/:id", s.handleRemove)
}

func (s *Service) answer(c *gin.Context, status int, m Member, err error) {
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, status, NewView(m, s.clock.Now()))
}

func (s *Service) handleList(c *gin.Context) {
	page, err := httpx.ParsePage(c, ids.Member)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.List(c.Request.Context(), keys.PrincipalOf(c), page)
	now := s.clock.Now()
	httpx.RespondList(c, list, err, page, func(m Member) View { return NewView(m, now) })
}

func (s *Service) handleInvite(c *gin.Context) {
	var in InviteInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	m, err := s.Invite(c.Request.Context(), keys.PrincipalOf(c), in)
	s.answer(c, http.StatusCreated, m, err)
}

func (s *Service) handleGet(c *gin.Context) {
	m, err := s.Get(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	s.answer(c, http.StatusOK, m, err)
}

func (s *Service) handleUpdate(c *gin.Context) {
	var in UpdateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	m, err := s.SetRole(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in)
	s.answer(c, http.StatusOK, m, err)
}

func (s *Service) handleRemove(c *gin.Context) {
	m, err := s.Remove(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	s.answer(c, http.StatusOK, m, err)
}
