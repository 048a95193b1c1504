package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// DefaultTokenTTL is how long an access token lives unless configured otherwise.
const DefaultTokenTTL = 15 * time.Minute

// tokenType is the JWT "typ" of access tokens (RFC 9068 §2.1): a token of another kind, such as
// an ID token, is not an access token even when signed by a trusted key.
const tokenType = "at+jwt"

// leeway tolerates clocks a little apart between replicas.
const leeway = 5 * time.Second

// Server issues and verifies access tokens.
type Server struct {
	db      *gorm.DB
	clock   clock.Clock
	clients *Clients
	keyring *Keyring
	guard   *keys.Guard
	// issuer names this server in tokens and metadata (its public URL); audience is the API.
	issuer   string
	ttl      time.Duration
	audience string
}

// ServerOptions wire a Server.
type ServerOptions struct {
	DB       *gorm.DB
	Clock    clock.Clock
	Clients  *Clients
	Keyring  *Keyring
	Guard    *keys.Guard // throttles failed client authentications per address
	Issuer   string      // the public URL, without a trailing slash
	TokenTTL time.Duration
}

// NewServer returns the authorization server.
func NewServer(o ServerOptions) *Server {
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	return &Server{db: o.DB, clock: o.Clock, clients: o.Clients, keyring: o.Keyring, guard: o.Guard,
		issuer: o.Issuer, audience: o.Issuer + "/v1", ttl: o.TokenTTL}
}

// claims are RocketFin's claims beside the registered ones (RFC 9068 §2.2).
type claims struct {
	ClientID    string `json:"client_id"`
	Scope       string `json:"scope"`
	TenantID    string `json:"tenant_id"`
	Environment string `json:"environment"`
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int
	Scope       access.Set
}

// issue signs a token for client holding scopes.
func (s *Server) issue(ctx context.Context, c Client, scopes access.Set) (Token, error) {
	key, err := s.keyring.signing(ctx)
	if err != nil {
		return Token{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.private, KeyID: key.id}},
		(&jose.SignerOptions{}).WithType(tokenType))
	if err != nil {
		return Token{}, fmt.Errorf("make signer: %w", err)
	}
	now := s.clock.Now()
	std := jwt.Claims{
		Issuer: s.issuer, Subject: c.ID, Audience: jwt.Audience{s.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(s.ttl)),
		ID: ids.New(ids.AccessToken),
	}
	own := claims{ClientID: c.ID, Scope: scopes.String(), TenantID: c.TenantID, Environment: string(c.Environment)}
	raw, err := jwt.Signed(signer).Claims(std).Claims(own).Serialize()
	if err != nil {
		return Token{}, fmt.Errorf("sign token: %w", err)
	}
	return Token{AccessToken: raw, ExpiresIn: int(s.ttl / time.Second), Scope: scopes}, nil
}

// Verify resolves an access token to its principal, with the reason of a failure (malformed,
// unknown, expired or revoked) for the authentication guard. Only ES256 tokens of type at+jwt
// signed by a published key, issued by this server for its API and unexpired, of a client that
// still exists, pass; the principal holds the token's scopes that the client still holds.
func (s *Server) Verify(ctx context.Context, raw string) (keys.Principal, string, error) {
	unauth := func(reason, msg string) (keys.Principal, string, error) {
		return keys.Principal{}, reason, problem.New(problem.Unauthenticated, "%s", msg)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return unauth("malformed", "the access token is not a signed ES256 token of this server")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, tokenType) {
		return unauth("unknown", "the token is not an access token (typ at+jwt)")
	}
	jwk, signsUntil, ok, err := s.keyring.verificationKey(ctx, h.KeyID)
	if err != nil {
		return keys.Principal{}, "", fmt.Errorf("verify token: %w", err)
	}
	if !ok {
		return unauth("unknown", "the access token was not signed by a key of this server")
	}
	var std jwt.Claims
	var own claims
	if err := tok.Claims(jwk.Key, &std, &own); err != nil {
		return unauth("unknown", "the access token's signature does not verify")
	}
	now := s.clock.Now()
	// Past its signature, a token names its client: failures below are recorded against it.
	named := keys.Principal{TenantID: own.TenantID, Environment: keys.Environment(own.Environment), CredentialID: own.ClientID}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, AnyAudience: jwt.Audience{s.audience}, Time: now}, leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		_, reason, err := unauth("expired", "the access token has expired: request a new one from /oauth/token")
		return named, reason, err
	case err != nil:
		return unauth("unknown", "the access token was issued by another server (iss) or for another API (aud), or is not valid yet")
	case std.Expiry == nil || std.IssuedAt == nil:
		return unauth("unknown", "the access token has no expiry")
	case std.IssuedAt.Time().After(signsUntil.Add(keyringRefresh+leeway)) || std.Expiry.Time().Sub(std.IssuedAt.Time()) > s.ttl+leeway:
		// A key signs until signsUntil (a replica may take a minute to see a rotation) and tokens
		// live s.ttl: anything else was not made here.
		return unauth("unknown", "the access token was not issued by this server")
	}
	c, found, err := s.clients.byID(ctx, own.ClientID)
	if err != nil {
		return keys.Principal{}, "", fmt.Errorf("verify token: %w", err)
	}
	if !found || std.Subject != c.ID || c.TenantID != own.TenantID || string(c.Environment) != own.Environment {
		_, reason, err := unauth("revoked", "the access token's OAuth2 client was deleted")
		return named, reason, err
	}
	scopes, err := access.Parse(own.Scope)
	if err != nil {
		return unauth("unknown", "the access token's scopes are not known")
	}
	return keys.Principal{TenantID: c.TenantID, Environment: c.Environment, CredentialID: c.ID,
		Scopes: scopes.Intersect(c.ScopeSet())}, "", nil
}
