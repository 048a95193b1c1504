package oauth

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// View is a client as the API shows it: the secret only when it is made or rotated.
type View struct {
	ID                      string            `json:"id"`
	Object                  string            `json:"object"`
	Name                    string            `json:"name"`
	Environment             keys.Environment  `json:"environment"`
	Scopes                  []access.Scope    `json:"scopes"`
	SecretLast4             string            `json:"secret_last4"`
	CreatedAt               time.Time         `json:"created_at"`
	SecretRotatedAt         *time.Time        `json:"secret_rotated_at"`
	PreviousSecretExpiresAt *time.Time        `json:"previous_secret_expires_at"`
	Deleted                 bool              `json:"deleted,omitempty"`
	Metadata                metadata.Metadata `json:"metadata"`
	ClientSecret            string            `json:"client_secret,omitempty"`
}

// NewView shows c; the previous secret's end only while it still works at now.
func NewView(c Client, now time.Time) View {
	v := View{ID: c.ID, Object: "oauth_client", Name: c.Name, Environment: c.Environment, Scopes: c.ScopeSet().List(),
		SecretLast4: c.SecretLast4, CreatedAt: c.CreatedAt.UTC(), SecretRotatedAt: clock.UTC(c.SecretRotatedAt),
		Deleted: c.DeletedAt != nil, Metadata: metadata.Decode(c.Metadata)}
	if c.PreviousSecretExpiresAt != nil && now.Before(*c.PreviousSecretExpiresAt) {
		v.PreviousSecretExpiresAt = clock.UTC(c.PreviousSecretExpiresAt)
	}
	return v
}

// Clients are the server's OAuth2 clients, for the console.
func (s *Server) Clients() *Clients { return s.clients }

// Routes mounts the client routes and the token endpoint.
func (s *Server) Routes(r httpx.Routes) {
	r.Root.POST("/oauth/token", s.handleToken)
	r.Root.GET("/.well-known/jwks.json", s.handleJWKS)
	r.Root.GET("/.well-known/oauth-authorization-server", s.handleMetadata)
	once := httpx.NoIdempotencyKey("to see whether an earlier attempt made a client, list them with GET /v1/oauth-clients")
	r.Authed.GET("/oauth-clients", s.handleList)
	r.Authed.POST("/oauth-clients", once, s.handleCreate)
	r.Authed.GET("/oauth-clients/:id", s.handleGet)
	r.Authed.POST("/oauth-clients/:id/rotate-secret", once, s.handleRotate)
	r.Authed.DELETE("/oauth-clients/:id", s.handleDelete)
	if r.Operator != nil {
		r.Operator.POST("/signing-keys/rotate", s.handleRotateSigningKey)
	}
}

// SigningKeyRotation is the answer of the operator's rotation.
type SigningKeyRotation struct {
	Object string `json:"object"`
	// KeyID is the key that signs from now on.
	KeyID string `json:"kid"`
}

// handleRotateSigningKey retires the signing key now (a suspected leak, a routine drill): tokens
// it signed stay valid until they expire; the next are signed by a new key.
func (s *Server) handleRotateSigningKey(c *gin.Context) {
	unpublish := c.Query("unpublish")
	if unpublish != "" && unpublish != "true" && unpublish != "false" {
		httpx.Fail(c, problem.Field("unpublish", "must be true or false"))
		return
	}
	kid, err := s.keyring.Rotate(c.Request.Context(), unpublish == "true")
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.Logger(c).Warn("operator rotated the OAuth2 token signing key", "kid", kid, "unpublished", unpublish == "true")
	httpx.JSON(c, http.StatusOK, SigningKeyRotation{Object: "signing_key_rotation", KeyID: kid})
}

func (s *Server) handleList(c *gin.Context) {
	page, err := httpx.ParsePage(c, ids.Client)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	filter, err := metadata.ParseFilter(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.clients.List(c.Request.Context(), keys.PrincipalOf(c), page, filter)
	now := s.clock.Now()
	httpx.RespondList(c, list, err, page, func(cl Client) View { return NewView(cl, now) })
}

func (s *Server) handleCreate(c *gin.Context) {
	var in CreateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.clients.Create(c.Request.Context(), keys.PrincipalOf(c), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewView(issued.Client, s.clock.Now())
	v.ClientSecret = issued.Secret
	httpx.JSON(c, http.StatusCreated, v)
}

func (s *Server) handleGet(c *gin.Context) {
	cl, err := s.clients.Get(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(cl, s.clock.Now()))
}

func (s *Server) handleRotate(c *gin.Context) {
	grace, err := keys.ParseGrace(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.clients.RotateSecret(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), grace)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewView(issued.Client, s.clock.Now())
	v.ClientSecret = issued.Secret
	httpx.JSON(c, http.StatusOK, v)
}

func (s *Server) handleDelete(c *gin.Context) {
	cl, err := s.clients.Delete(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(cl, s.clock.Now()))
}

func (s *Server) handleJWKS(c *gin.Context) {
	set, err := s.keyring.JWKS(c.Request.Context())
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	// Verifiers may cache the set briefly; a new key is published before it signs.
	c.Header("Cache-Control", "public, max-age=60")
	httpx.JSON(c, http.StatusOK, set)
}

// Metadata is the authorization server's metadata (RFC 8414).
type Metadata struct {
	Issuer                            string         `json:"issuer"`
	TokenEndpoint                     string         `json:"token_endpoint"`
	JWKSURI                           string         `json:"jwks_uri"`
	ScopesSupported                   []access.Scope `json:"scopes_supported"`
	ResponseTypesSupported            []string       `json:"response_types_supported"`
	GrantTypesSupported               []string       `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string       `json:"token_endpoint_auth_methods_supported"`
	ServiceDocumentation              string         `json:"service_documentation"`
}

func (s *Server) handleMetadata(c *gin.Context) {
	httpx.JSON(c, http.StatusOK, Metadata{
		Issuer: s.issuer, TokenEndpoint: s.issuer + "/oauth/token", JWKSURI: s.issuer + "/.well-known/jwks.json",
		ScopesSupported: access.All, ResponseTypesSupported: []string{}, GrantTypesSupported: []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		ServiceDocumentation:              s.issuer + "/openapi.json",
	})
}
