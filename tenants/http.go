package tenants

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/keys"
)

// HTTP serves the tenant routes.
type HTTP struct {
	svc      *Service
	limiter  *signupLimiter
	currency string
}

// NewHTTP returns the handlers, allowing signupsPerHour per client address (counted in
// buckets); currency is the one RocketFin bills in.
func NewHTTP(svc *Service, signupsPerHour int, buckets ratelimit.Limiter, currency string) *HTTP {
	return &HTTP{svc: svc, limiter: newSignupLimiter(signupsPerHour, svc.clock, buckets), currency: currency}
}

// Routes mounts the tenant routes: signup, the pages of verification links, the calling tenant,
// and the operator API when it is on.
func (h *HTTP) Routes(r httpx.Routes) {
	r.Public.POST("/signup", httpx.NoIdempotencyKey("a signup that went through answers 409 to a second one with the same email"), h.handleSignup)
	r.Root.GET(VerifyPath, h.handleVerifyPage)
	r.Root.POST(VerifyPath, h.handleVerify)
	r.Authed.GET("/tenant", h.handleGet)
	r.Authed.PATCH("/tenant", h.handlePatch)
	r.Authed.POST("/email-verification", h.handleResend)
	if r.Operator != nil {
		r.Operator.GET("/tenants/:id", h.handleOperatorGet)
		r.Operator.PATCH("/tenants/:id", h.handleOperatorPatch)
	}
}

func (h *HTTP) handlePatch(c *gin.Context) {
	var in SettingsInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	p := keys.PrincipalOf(c)
	t, err := h.svc.SetMonthlyCap(c.Request.Context(), p, in, h.currency)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewView(t)
	v.Environment = string(p.Environment)
	httpx.JSON(c, http.StatusOK, v)
}

// SignupView is the answer to a signup.
type SignupView struct {
	Tenant  View        `json:"tenant"`
	APIKeys []keys.View `json:"api_keys"`
	// EmailVerification says where the link that opens live calls was sent (absent when the
	// server does not require one).
	EmailVerification *VerificationSent `json:"email_verification,omitempty"`
}

func (h *HTTP) handleSignup(c *gin.Context) {
	var in SignupInput
	if err := httpx.Decode(c, &in); err != nil {
		if err := h.limiter.allow(c.Request.Context(), c.ClientIP()); err != nil {
			httpx.Fail(c, err)
			return
		}
		httpx.Fail(c, err)
		return
	}
	v, err := h.Signup(c.Request.Context(), c.ClientIP(), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusCreated, v)
}

// Signup signs a tenant up for a client at addr, within the signups each address may make an
// hour: the API's signup and the console's form both come here.
func (h *HTTP) Signup(ctx context.Context, addr string, in SignupInput) (SignupView, error) {
	if err := h.limiter.allow(ctx, addr); err != nil {
		return SignupView{}, err
	}
	res, err := h.svc.Signup(ctx, in)
	if err != nil {
		return SignupView{}, err
	}
	now := h.svc.clock.Now()
	return SignupView{
		Tenant:            NewView(res.Tenant),
		APIKeys:           []keys.View{keys.IssuedView(res.Sandbox, now), keys.IssuedView(res.Live, now)},
		EmailVerification: res.Verification,
	}, nil
}

func (h *HTTP) handleGet(c *gin.Context) {
	p := keys.PrincipalOf(c)
	t, err := h.svc.Get(c.Request.Context(), p.TenantID)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewView(t)
	v.Environment = string(p.Environment)
	httpx.JSON(c, http.StatusOK, v)
}

func (h *HTTP) handleOperatorGet(c *gin.Context) {
	t, err := h.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(t))
}

func (h *HTTP) handleOperatorPatch(c *gin.Context) {
	var in PatchInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	t, err := h.svc.Patch(c.Request.Context(), c.Param("id"), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(t))
}

// OperatorAuth admits requests bearing the operator token, compared in
// constant time.
func OperatorAuth(token string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		scheme, got, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			httpx.Fail(c, problem.New(problem.Unauthenticated, "the operator API needs `Authorization: Bearer <operator token>`"))
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			httpx.Fail(c, problem.New(problem.Unauthenticated, "the operator token is not valid"))
			return
		}
		c.Next()
	}
}
