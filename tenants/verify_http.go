package tenants

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// EmailVerificationView answers POST /v1/email-verification.
type EmailVerificationView struct {
	Object string `json:"object"`
	Status string `json:"status"`
	VerificationSent
}

func (h *HTTP) handleResend(c *gin.Context) {
	sent, err := h.svc.ResendVerification(c.Request.Context(), keys.PrincipalOf(c).TenantID)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusAccepted, EmailVerificationView{Object: "email_verification", Status: "sent", VerificationSent: sent})
}

var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · RocketFin</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1a1a2e}
h1{font-size:1.4rem}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#3b3bd4;color:#fff;cursor:pointer}
button:focus{outline:3px solid #f5a623;outline-offset:2px}.note{color:#555}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Token}}<form method="post" action="{{.Action}}"><input type="hidden" name="token" value="{{.Token}}">
<button type="submit">Confirm my email</button></form>{{end}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}</main></body></html>
`))

type pageData struct {
	Title, Message, Note, Token, Action string
}

func renderPage(c *gin.Context, status int, d pageData) {
	c.Header("Cache-Control", "no-store")
	// The token travels in the URL: it must not leak to another site through Referer.
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if c.Request.Method == http.MethodHead {
		return
	}
	if err := verifyPage.Execute(c.Writer, d); err != nil {
		httpx.Logger(c).Error("render verification page", "error", err.Error())
	}
}

func (h *HTTP) handleVerifyPage(c *gin.Context) {
	token := strings.TrimSpace(c.Query("token"))
	if token == "" {
		renderPage(c, http.StatusBadRequest, pageData{Title: "Link incomplete", Message: "This address lacks its token: open the whole link from the email."})
		return
	}
	renderPage(c, http.StatusOK, pageData{
		Title: "Confirm your email", Message: "Confirm that this email address belongs to you to open live scoring on your RocketFin account.",
		Token: token, Action: VerifyPath,
	})
}

func (h *HTTP) handleVerify(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4096)
	ct := c.ContentType()
	if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		renderPage(c, http.StatusUnsupportedMediaType, pageData{Title: "Unsupported request", Message: "Send the form of the verification page."})
		return
	}
	t, err := h.svc.VerifyEmail(c.Request.Context(), c.PostForm("token"))
	if err == nil {
		renderPage(c, http.StatusOK, pageData{Title: "Email verified",
			Message: t.SignupEmailLower + " is verified: live scoring is open for " + t.Name + ".", Note: "You can close this page."})
		return
	}
	pe := problem.As(err)
	if pe == nil {
		httpx.Logger(c).Error("verify email", "error", err.Error())
		renderPage(c, http.StatusInternalServerError, pageData{Title: "Something went wrong", Message: "Nothing was changed; try the link again in a moment."})
		return
	}
	renderPage(c, pe.Code.Status(), pageData{Title: "This link cannot be used", Message: pe.Detail + ".",
		Note: "A new link can be asked for with POST /v1/email-verification and either API key."})
}
