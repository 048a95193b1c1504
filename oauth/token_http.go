package oauth

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// tokenError is an error of the token endpoint as RFC 6749 §5.2 writes it.
type tokenError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
	retryAfter  int
}

func tokenFail(status int, code, format string, args ...any) *tokenError {
	return &tokenError{status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

func (e *tokenError) write(c *gin.Context) {
	if e.status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="rocketfin", charset="UTF-8"`)
	}
	if e.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.retryAfter))
	}
	c.Header("Pragma", "no-cache")
	c.Header("Cache-Control", "no-store")
	httpx.JSON(c, e.status, e)
}

// TokenResponse is a successful answer of the token endpoint (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// handleToken is POST /oauth/token: the client credentials grant.
func (s *Server) handleToken(c *gin.Context) {
	tok, terr := s.token(c)
	if terr != nil {
		terr.write(c)
		return
	}
	c.Header("Pragma", "no-cache")
	c.Header("Cache-Control", "no-store")
	httpx.JSON(c, http.StatusOK, TokenResponse{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, Scope: tok.Scope.String()})
}

func (s *Server) token(c *gin.Context) (Token, *tokenError) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return Token{}, tokenFail(http.StatusBadRequest, "invalid_request", "send the parameters as application/x-www-form-urlencoded")
	}
	body, err := httpx.ReadBody(c)
	if err != nil {
		if pe := problem.As(err); pe != nil {
			return Token{}, tokenFail(pe.Code.Status(), "invalid_request", "%s", pe.Detail)
		}
		return Token{}, tokenFail(http.StatusBadRequest, "invalid_request", "the body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Token{}, tokenFail(http.StatusBadRequest, "invalid_request", "the body is not a valid form")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return Token{}, tokenFail(http.StatusBadRequest, "invalid_request", "the parameter %s is repeated", name)
		}
	}
	id, secret, terr := clientCredentials(c, form)
	if terr != nil {
		return Token{}, terr
	}
	addr, now := c.ClientIP(), s.clock.Now()
	if blocked, wait := s.guard.Blocked(addr, now); blocked {
		s.guard.Failed(addr, "throttled", now)
		e := tokenFail(http.StatusTooManyRequests, "invalid_client", "too many failed client authentications from this address; retry later")
		e.retryAfter = max(1, int(wait.Seconds()+0.999))
		return Token{}, e
	}
	client, err := s.clients.authenticate(c.Request.Context(), id, secret, now)
	if err != nil {
		return Token{}, tokenFail(http.StatusInternalServerError, "server_error", "the client could not be checked; retry")
	}
	if client == nil {
		s.guard.Failed(addr, "unknown", now)
		return Token{}, tokenFail(http.StatusUnauthorized, "invalid_client", "the client id or secret is wrong, or the client was deleted")
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return Token{}, tokenFail(http.StatusBadRequest, "invalid_request", "grant_type is required: client_credentials")
	default:
		return Token{}, tokenFail(http.StatusBadRequest, "unsupported_grant_type", "grant_type %.40q is not supported; use client_credentials", gt)
	}
	granted := client.ScopeSet()
	scopes := granted
	if form.Has("scope") {
		asked, err := access.Parse(form.Get("scope"))
		if err != nil {
			return Token{}, tokenFail(http.StatusBadRequest, "invalid_scope", "%v", err)
		}
		if !granted.Contains(asked) {
			return Token{}, tokenFail(http.StatusBadRequest, "invalid_scope", "the client was not granted every scope asked (granted: %s)", granted)
		}
		if len(asked.List()) == 0 {
			return Token{}, tokenFail(http.StatusBadRequest, "invalid_scope", "scope is empty; leave it out to get every scope the client was granted")
		}
		scopes = asked
	}
	tok, err := s.issue(c.Request.Context(), *client, scopes)
	if err != nil {
		httpx.Logger(c).Error("issue access token", "error", err.Error())
		return Token{}, tokenFail(http.StatusInternalServerError, "server_error", "the token could not be signed; retry")
	}
	return tok, nil
}

// clientCredentials reads the client's id and secret from HTTP Basic (RFC 6749 §2.3.1, each part
// form-encoded) or from the form, refusing both at once.
func clientCredentials(c *gin.Context, form url.Values) (string, string, *tokenError) {
	h := c.GetHeader("Authorization")
	inForm := form.Has("client_id") || form.Has("client_secret")
	if h == "" {
		if !inForm {
			return "", "", tokenFail(http.StatusUnauthorized, "invalid_client", "authenticate the client with HTTP Basic or client_id and client_secret in the form")
		}
		return form.Get("client_id"), form.Get("client_secret"), nil
	}
	if inForm {
		return "", "", tokenFail(http.StatusBadRequest, "invalid_request", "authenticate the client one way: HTTP Basic or the form, not both")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", tokenFail(http.StatusUnauthorized, "invalid_client", "the Authorization header must be HTTP Basic with the client id and secret")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", tokenFail(http.StatusUnauthorized, "invalid_client", "the Basic credentials are not valid base64")
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", tokenFail(http.StatusUnauthorized, "invalid_client", "the Basic credentials must be client_id:client_secret")
	}
	id, err1 := url.QueryUnescape(u)
	secret, err2 := url.QueryUnescape(p)
	if err1 != nil || err2 != nil {
		return "", "", tokenFail(http.StatusUnauthorized, "invalid_client", "the Basic credentials are not form-encoded")
	}
	return id, secret, nil
}
