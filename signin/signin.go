// Package signin lets people into the console: the OpenID Connect authorization code flow with
// PKCE, state and nonce against OIDC_ISSUER (any OpenID Provider: Google, Microsoft Entra, Okta,
// Keycloak…), the ID token verified with go-oidc, then a server-side session held by an HttpOnly
// cookie (Secure under HTTPS, SameSite=Lax) with idle and absolute expiry and a logout that ends
// it server-side. A session authenticates the API like a key, with the scopes of the member's role
// in the environment the session has chosen; every state-changing request it makes must carry
// its CSRF token.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/internal/ttlcache"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/members"
)

// Cookie names.
const (
	SessionCookie = keys.SessionCookieName
	loginCookie   = "rf_login"
	// CSRFHeader carries a session's CSRF token on JSON requests; forms send csrf_token.
	CSRFHeader = "X-CSRF-Token"
	csrfField  = "csrf_token"
)

// Paths of the flow.
const (
	LoginPath    = "/console/login"
	CallbackPath = "/console/callback"
	LogoutPath   = "/console/logout"
	HomePath     = "/console"
)

// loginTTL is how long a started sign-in may take.
const loginTTL = 10 * time.Minute

// Config is the OpenID Provider and the session rules.
type Config struct {
	// Issuer is OIDC_ISSUER; empty turns console sign-in off.
	Issuer       string
	ClientID     string
	ClientSecret string
	// PublicURL is RocketFin's own base URL: the callback is PublicURL + CallbackPath.
	PublicURL string
	// Secure marks cookies Secure (RocketFin is reached over HTTPS).
	Secure bool
	// IdleTimeout ends a session not used for that long; MaxAge ends any session that old.
	IdleTimeout, MaxAge time.Duration
}

// Service runs sign-ins and resolves sessions.
type Service struct {
	cfg     Config
	db      *gorm.DB
	clock   clock.Clock
	box     *secretbox.Box
	members *members.Service
	guard   *keys.Guard
	buckets ratelimit.Limiter
	log     *slog.Logger
	http    *http.Client

	mu       sync.Mutex
	provider *oidc.Provider

	sessions *ttlcache.Cache[session]
}

// Options wire a Service.
type Options struct {
	Config  Config
	DB      *gorm.DB
	Clock   clock.Clock
	Box     *secretbox.Box // seals PKCE verifiers between the two legs of a sign-in
	Members *members.Service
	Guard   *keys.Guard // counts and throttles unknown session cookies per address
	// Buckets bound the sign-ins an address may start (nil: no bound).
	Buckets ratelimit.Limiter
	Logger  *slog.Logger
}

// New returns the sign-in service.
func New(o Options) *Service {
	if o.Config.IdleTimeout <= 0 {
		o.Config.IdleTimeout = 30 * time.Minute
	}
	if o.Config.MaxAge <= 0 {
		o.Config.MaxAge = 12 * time.Hour
	}
	return &Service{cfg: o.Config, db: o.DB, clock: o.Clock, box: o.Box, members: o.Members, guard: o.Guard, buckets: o.Buckets, log: o.Logger,
		http: &http.Client{Timeout: 10 * time.Second}, sessions: ttlcache.New[session](time.Second, 100_000)}
}

// Enabled tells whether an OpenID Provider is configured.
func (s *Service) Enabled() bool { return s.cfg.Issuer != "" }

// oauth returns the provider and the OAuth2 configuration, discovering the provider on first
// use (and again after a failure), so that RocketFin starts while its provider is down.
func (s *Service) oauth(ctx context.Context) (*oidc.Provider, oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.http), s.cfg.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, fmt.Errorf("discover the OpenID Provider %s: %w", s.cfg.Issuer, err)
		}
		s.provider = p
	}
	return s.provider, oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret,
		Endpoint: s.provider.Endpoint(), RedirectURL: s.cfg.PublicURL + CallbackPath,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the CSRF token of a session: derived from its secret token, so that only who holds
// the cookie can compute it, and nothing more is stored.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("rocketfin csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SafeReturn keeps a return address on the console: a local path under /console, never another
// site.
func SafeReturn(p string) string {
	if p == HomePath || (strings.HasPrefix(p, HomePath+"/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")) {
		return p
	}
	return HomePath
}
